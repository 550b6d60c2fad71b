"""rules/: the schema of the rule files, their compiling and loading (with a cache of compilations), and the
compiled Form/Field/Rule model."""

from .interval import Interval, parse_interval
from .load import DEFAULT_RULES_DIR, RuleFileError, form_in, load_forms, rule_files, share_forms, yaml_loader
from .model import Block, EnterpriseList, Field, Form, ListCategory, Rule, Sheet

__all__ = ["Block", "DEFAULT_RULES_DIR", "EnterpriseList", "Field", "Form", "Interval", "ListCategory",
           "Rule", "RuleFileError", "Sheet", "form_in", "load_forms", "parse_interval", "rule_files",
           "share_forms", "yaml_loader"]
