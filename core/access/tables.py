"""Accounts, sessions and API tokens (secrets stored hashed; see m0013)."""

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from core.scheduling.tables import Staff


class Account(Table, tablename="account"):
    username = Varchar(length=100, unique=True)
    display_name = Varchar(length=200)
    role = Varchar(length=20)  # owner | manager | receptionist | staff
    staff = ForeignKey(references=Staff, null=True)  # the calendar a `staff` account sees
    password_hash = Text()  # Argon2id PHC string
    totp_enc = Text(null=True, default=None)
    totp_enabled = Boolean(default=False)
    totp_last_step = BigInt(null=True, default=None)  # the last accepted code's time step: no reuse
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    disabled_at = Timestamptz(null=True, default=None)
    last_login_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class AccountSession(Table, tablename="account_session"):
    token_hash = Varchar(length=64, unique=True)
    account = ForeignKey(references=Account)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    last_seen_at = Timestamptz()


class ApiToken(Table, tablename="api_token"):
    name = Varchar(length=100)
    role = Varchar(length=20)
    prefix = Varchar(length=20)
    token_hash = Varchar(length=64, unique=True)
    created_by = Varchar(length=120)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    last_used_at = Timestamptz(null=True, default=None)
