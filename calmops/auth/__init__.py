"""Who may do what: accounts with a role per company, API tokens, browser sessions, sign-in.

``models`` holds the vocabulary and the one check every write goes through (``require``);
``service`` keeps accounts, tokens and sessions in the store.
"""

from calmops.auth.models import Identity, Permission, Role, allows, require, system

__all__ = ["Identity", "Permission", "Role", "allows", "require", "system"]
