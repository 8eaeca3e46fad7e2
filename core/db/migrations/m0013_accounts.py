"""Staff accounts, their server-side sessions and API tokens for integrations.

Sessions and tokens are stored as SHA-256 hashes of the secret the client holds: a copy of the
database does not let anyone sign in. Passwords are Argon2id PHC strings. The TOTP secret is
encrypted like other personal data.
"""

from core.db.database import Database
from core.db.ddl import dialect


async def up(db: Database) -> None:
    d = dialect(db.kind)
    await db.script(
        [
            f"""CREATE TABLE account (id {d.pk},
                username VARCHAR(100) NOT NULL, display_name VARCHAR(200) NOT NULL,
                role VARCHAR(20) NOT NULL, staff INTEGER REFERENCES staff (id),
                password_hash TEXT NOT NULL, totp_enc TEXT, totp_enabled BOOLEAN NOT NULL DEFAULT FALSE,
                totp_last_step BIGINT,
                failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TIMESTAMPTZ,
                disabled_at TIMESTAMPTZ, last_login_at TIMESTAMPTZ,
                created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL)""",
            "CREATE UNIQUE INDEX account_username ON account (username)",
            f"""CREATE TABLE account_session (id {d.pk},
                token_hash VARCHAR(64) NOT NULL,
                account INTEGER NOT NULL REFERENCES account (id) ON DELETE CASCADE,
                created_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL,
                last_seen_at TIMESTAMPTZ NOT NULL)""",
            "CREATE UNIQUE INDEX account_session_token ON account_session (token_hash)",
            "CREATE INDEX account_session_account ON account_session (account)",
            f"""CREATE TABLE api_token (id {d.pk},
                name VARCHAR(100) NOT NULL, role VARCHAR(20) NOT NULL,
                prefix VARCHAR(20) NOT NULL, token_hash VARCHAR(64) NOT NULL,
                created_by VARCHAR(120) NOT NULL, created_at TIMESTAMPTZ NOT NULL,
                revoked_at TIMESTAMPTZ, last_used_at TIMESTAMPTZ)""",
            "CREATE UNIQUE INDEX api_token_hash ON api_token (token_hash)",
        ]
    )
