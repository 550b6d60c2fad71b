"""Mail: compose the messages, plan who gets which, write or send them."""
