"""Who may do what: roles, the permission matrix, accounts, sessions and API tokens."""
