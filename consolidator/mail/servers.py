"""What the SMTP and IMAP connections share: the server given as 主机:端口 with its security, and the
network failures said in Chinese."""

from __future__ import annotations

import socket
import ssl

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def server_address(text: str, security: str | None, *, option: str, example: str,
                   ssl_port: int) -> tuple[str, int, str]:
    """(host, port, security) of `主机:端口`; SSL by default on `ssl_port`, else STARTTLS; no encryption only
    for a server on this machine. ValueError with a Chinese message otherwise."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"{option} 应写成 主机:端口，如 {example}，而不是“{text}”")
    port_n = int(port)
    security = security or ("ssl" if port_n == ssl_port else "starttls")
    if security == "none" and host not in LOCAL_HOSTS:
        raise ValueError("不加密的连接只允许用于本机的邮件服务器（localhost）")
    return host, port_n, security


def network_error_zh(exc: BaseException, *, ssl_port: int, starttls_port: int) -> str | None:
    """A failure to reach or talk to a server, in Chinese with what to check; None when it is not one."""
    if isinstance(exc, ssl.SSLError):
        return (f"加密连接失败（加密方式或端口可能不对：端口 {ssl_port} 用 ssl，{starttls_port} 用 starttls；"
                f"{exc.reason or exc}）")
    if isinstance(exc, ConnectionRefusedError):
        return "服务器拒绝连接（地址或端口不对，或服务器没有开启）"
    if isinstance(exc, socket.gaierror):
        return "找不到这个服务器（地址可能写错了，或本机没有联网）"
    if isinstance(exc, TimeoutError):
        return "连接超时（服务器没有应答：请检查网络、地址和端口）"
    return None
