//! The OpenID Connect provider's clients, codes, tokens and consents, written once for
//! both backends (`oidc_store!`, like `identity_store!`).

pub(crate) const CLIENT_COLUMNS: &str = "client_id, name, secret_hash, redirect_uris, post_logout_redirect_uris, first_party, created_at_us";

pub(crate) const CODE_COLUMNS: &str = "client_id, login, redirect_uri, scope, nonce, code_challenge, \
     auth_time_us, created_at_us, family, used_at_us";

pub(crate) const TOKEN_COLUMNS: &str = "kind, client_id, login, scope, family, nonce, auth_time_us, \
     created_at_us, expires_at_us, revoked_at_us, rotated_at_us";

macro_rules! oidc_store {
    ($store:ty, $database:ty, $row:ty) => {
        pub(crate) mod oidc_queries {
            use super::audit_queries::append_in;
            use crate::audit::audited;
            use crate::codec::{from_micros, micros};
            use crate::oidc::{CLIENT_COLUMNS, CODE_COLUMNS, TOKEN_COLUMNS};
            use crate::storage_error;
            use async_trait::async_trait;
            use chrono::{DateTime, Utc};
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::oidc::{AuthorizationGrant, IssuedToken, OidcClient, TokenKind};
            use huimin_domain::storage::{OidcStore, StorageError, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn text(row: &DatabaseRow, column: &str) -> StorageResult<String> {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn time(row: &DatabaseRow, column: &str) -> StorageResult<DateTime<Utc>> {
                from_micros(row.try_get(column).map_err(|e| storage_error(column, e))?)
            }

            fn optional_time(row: &DatabaseRow, column: &str) -> StorageResult<Option<DateTime<Utc>>> {
                let micros: Option<i64> = row.try_get(column).map_err(|e| storage_error(column, e))?;
                micros.map(from_micros).transpose()
            }

            fn lines(text: &str) -> Vec<String> {
                text.lines().filter(|line| !line.is_empty()).map(str::to_owned).collect()
            }

            fn read_client(row: &DatabaseRow) -> StorageResult<OidcClient> {
                let first_party: i64 = row.try_get("first_party").map_err(|e| storage_error("first_party", e))?;
                Ok(OidcClient {
                    client_id: text(row, "client_id")?,
                    name: text(row, "name")?,
                    secret_hash: row.try_get("secret_hash").map_err(|e| storage_error("secret_hash", e))?,
                    redirect_uris: lines(&text(row, "redirect_uris")?),
                    post_logout_redirect_uris: lines(&text(row, "post_logout_redirect_uris")?),
                    first_party: first_party != 0,
                    created_at: time(row, "created_at_us")?,
                })
            }

            fn read_grant(row: &DatabaseRow) -> StorageResult<AuthorizationGrant> {
                Ok(AuthorizationGrant {
                    client_id: text(row, "client_id")?,
                    login: text(row, "login")?,
                    redirect_uri: text(row, "redirect_uri")?,
                    scope: text(row, "scope")?,
                    nonce: row.try_get("nonce").map_err(|e| storage_error("nonce", e))?,
                    code_challenge: text(row, "code_challenge")?,
                    auth_time: time(row, "auth_time_us")?,
                    created_at: time(row, "created_at_us")?,
                    family: text(row, "family")?,
                })
            }

            fn read_token(row: &DatabaseRow) -> StorageResult<IssuedToken> {
                let kind = text(row, "kind")?;
                Ok(IssuedToken {
                    kind: TokenKind::parse(&kind)
                        .ok_or_else(|| StorageError::new(format!("oidc_token.kind: unknown kind '{kind}'")))?,
                    client_id: text(row, "client_id")?,
                    login: text(row, "login")?,
                    scope: text(row, "scope")?,
                    family: text(row, "family")?,
                    nonce: row.try_get("nonce").map_err(|e| storage_error("nonce", e))?,
                    auth_time: time(row, "auth_time_us")?,
                    created_at: time(row, "created_at_us")?,
                    expires_at: time(row, "expires_at_us")?,
                    revoked_at: optional_time(row, "revoked_at_us")?,
                    rotated_at: optional_time(row, "rotated_at_us")?,
                })
            }

            #[async_trait]
            impl OidcStore for $store {
                async fn create_oidc_client(&self, client: &OidcClient, audit: &AuditEvent) -> StorageResult<bool> {
                    Ok(audited!(self, audit, client.created_at, |transaction| {
                        let inserted = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO oidc_client ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                             ON CONFLICT (client_id) DO NOTHING"
                        )))
                        .bind(client.client_id.as_str())
                        .bind(client.name.as_str())
                        .bind(client.secret_hash.as_deref())
                        .bind(client.redirect_uris.join("\n"))
                        .bind(client.post_logout_redirect_uris.join("\n"))
                        .bind(i64::from(client.first_party))
                        .bind(micros(client.created_at))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("registering a client", e))?;
                        if inserted.rows_affected() == 0 {
                            return Ok(false);
                        }
                        true
                    }))
                }

                async fn oidc_client(&self, client_id: &str) -> StorageResult<Option<OidcClient>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {CLIENT_COLUMNS} FROM oidc_client WHERE client_id = $1"
                    )))
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading a client", e))?;
                    row.as_ref().map(read_client).transpose()
                }

                async fn oidc_clients(&self) -> StorageResult<Vec<OidcClient>> {
                    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {CLIENT_COLUMNS} FROM oidc_client ORDER BY client_id"
                    )))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading clients", e))?;
                    rows.iter().map(read_client).collect()
                }

                async fn put_authorization_code(
                    &self,
                    code_hash: &[u8],
                    grant: &AuthorizationGrant,
                    audit: &AuditEvent,
                ) -> StorageResult<()> {
                    audited!(self, audit, grant.created_at, |transaction| {
                        sqlx::query(sqlx::AssertSqlSafe(format!(
                            "INSERT INTO oidc_code (code_hash, {CODE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)"
                        )))
                        .bind(code_hash)
                        .bind(grant.client_id.as_str())
                        .bind(grant.login.as_str())
                        .bind(grant.redirect_uri.as_str())
                        .bind(grant.scope.as_str())
                        .bind(grant.nonce.as_deref())
                        .bind(grant.code_challenge.as_str())
                        .bind(micros(grant.auth_time))
                        .bind(micros(grant.created_at))
                        .bind(grant.family.as_str())
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("keeping an authorization code", e))?;
                    });
                    Ok(())
                }

                async fn take_authorization_code(
                    &self,
                    code_hash: &[u8],
                    now: DateTime<Utc>,
                ) -> StorageResult<Option<(AuthorizationGrant, bool)>> {
                    let first = sqlx::query("UPDATE oidc_code SET used_at_us = $2 WHERE code_hash = $1 AND used_at_us IS NULL")
                        .bind(code_hash)
                        .bind(micros(now))
                        .execute(&self.pool)
                        .await
                        .map_err(|e| storage_error("using an authorization code", e))?
                        .rows_affected()
                        == 1;
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {CODE_COLUMNS} FROM oidc_code WHERE code_hash = $1"
                    )))
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading an authorization code", e))?;
                    Ok(row.as_ref().map(read_grant).transpose()?.map(|grant| (grant, first)))
                }

                async fn issue_oidc_tokens(
                    &self,
                    tokens: &[(Vec<u8>, IssuedToken)],
                    rotating: Option<&[u8]>,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<bool> {
                    Ok(audited!(self, audit, now, |transaction| {
                        if let Some(old) = rotating {
                            let rotated = sqlx::query(
                                "UPDATE oidc_token SET rotated_at_us = $2 WHERE token_hash = $1 \
                                 AND rotated_at_us IS NULL AND revoked_at_us IS NULL",
                            )
                            .bind(old)
                            .bind(micros(now))
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("rotating a refresh token", e))?;
                            if rotated.rows_affected() != 1 {
                                return Ok(false);
                            }
                        }
                        for (hash, token) in tokens {
                            sqlx::query(sqlx::AssertSqlSafe(format!(
                                "INSERT INTO oidc_token (token_hash, {TOKEN_COLUMNS}) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                            )))
                            .bind(hash.as_slice())
                            .bind(token.kind.code())
                            .bind(token.client_id.as_str())
                            .bind(token.login.as_str())
                            .bind(token.scope.as_str())
                            .bind(token.family.as_str())
                            .bind(token.nonce.as_deref())
                            .bind(micros(token.auth_time))
                            .bind(micros(token.created_at))
                            .bind(micros(token.expires_at))
                            .bind(token.revoked_at.map(micros))
                            .bind(token.rotated_at.map(micros))
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("issuing a token", e))?;
                        }
                        true
                    }))
                }

                async fn oidc_token(&self, token_hash: &[u8]) -> StorageResult<Option<IssuedToken>> {
                    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {TOKEN_COLUMNS} FROM oidc_token WHERE token_hash = $1"
                    )))
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading a token", e))?;
                    row.as_ref().map(read_token).transpose()
                }

                async fn revoke_oidc_family(
                    &self,
                    family: &str,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<u64> {
                    Ok(audited!(self, audit, now, |transaction| {
                        let revoked = sqlx::query(
                            "UPDATE oidc_token SET revoked_at_us = $2 WHERE family = $1 AND revoked_at_us IS NULL",
                        )
                        .bind(family)
                        .bind(micros(now))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("revoking tokens", e))?
                        .rows_affected();
                        revoked
                    }))
                }

                async fn oidc_consent(&self, login: &str, client_id: &str) -> StorageResult<Option<String>> {
                    sqlx::query_scalar("SELECT scope FROM oidc_consent WHERE login = $1 AND client_id = $2")
                        .bind(login)
                        .bind(client_id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a consent", e))
                }

                async fn put_oidc_consent(
                    &self,
                    login: &str,
                    client_id: &str,
                    scope: &str,
                    audit: &AuditEvent,
                    now: DateTime<Utc>,
                ) -> StorageResult<()> {
                    audited!(self, audit, now, |transaction| {
                        sqlx::query(
                            "INSERT INTO oidc_consent (login, client_id, scope, granted_at_us) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (login, client_id) DO UPDATE SET scope = excluded.scope, granted_at_us = excluded.granted_at_us",
                        )
                        .bind(login)
                        .bind(client_id)
                        .bind(scope)
                        .bind(micros(now))
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("keeping a consent", e))?;
                    });
                    Ok(())
                }
            }
        }
    };
}

pub(crate) use oidc_store;
