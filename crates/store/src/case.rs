//! Cases and their timelines, written once for both backends (`case_store!`). A case row
//! holds the columns its lists filter on and the whole case as JSON, decoded and checked
//! again when read; each change is a conditional update on the case's version, with its
//! event and its audit entry in the same transaction, so two dispatchers acting at once
//! cannot both win.

use huimin_domain::case::indicators::{IndicatorQuery, Tally, Unit};
use huimin_domain::case::{Case, CaseEvent, CaseQuery};
use huimin_domain::storage::StorageError;

/// The columns of a case row, as written (the id aside).
pub(crate) const CASE_ROW: &str = "channel, category, status, grid, lead_department, priority, version, \
    reported_at_us, updated_at_us, body, reported_by, reporter_phone, longitude, latitude, \
    voided, registered, dispatched, handled, handled_on_time, closed, closed_on_time, reworked, \
    callback_due, called_back, rated, satisfied";

/// The case columns a read selects.
pub(crate) const CASE_COLUMNS: &str = "id, version, body";

/// The columns an inbox message is read from.
pub(crate) const SMS_COLUMNS: &str = "id, message_id, phone, body, received_at_us, status, case_id, handled_by, handled_at_us, reason";

/// The case as its row's JSON body.
pub(crate) fn encode_case(case: &Case) -> Result<String, StorageError> {
    serde_json::to_string(case)
        .map_err(|error| StorageError::new(format!("encoding a case: {error}")))
}

/// A case from its row: the body, with the id and version the row holds.
pub(crate) fn decode_case(id: i64, version: i64, body: &str) -> Result<Case, StorageError> {
    let mut case: Case = serde_json::from_str(body)
        .map_err(|error| crate::codec::corrupt("case_record.body", &id.to_string(), error))?;
    case.id = u64::try_from(id)
        .map_err(|error| crate::codec::corrupt("case_record.id", &id.to_string(), error))?;
    case.version = u64::try_from(version)
        .map_err(|error| crate::codec::corrupt("case_record.version", &id.to_string(), error))?;
    Ok(case)
}

/// An event's action as its row's `action` and `detail` columns.
pub(crate) fn encode_event(event: &CaseEvent) -> Result<(String, String), StorageError> {
    Ok(match &event.action {
        None => ("report".to_owned(), String::new()),
        Some(action) => (
            action.code().to_owned(),
            serde_json::to_string(action)
                .map_err(|error| StorageError::new(format!("encoding a case event: {error}")))?,
        ),
    })
}

/// An event from its row.
pub(crate) fn decode_event(
    case_id: i64,
    seq: i64,
    actor: String,
    at_us: i64,
    from: Option<String>,
    to: &str,
    detail: &str,
) -> Result<CaseEvent, StorageError> {
    let object = format!("{case_id}/{seq}");
    let status = |column: &str, text: &str| {
        huimin_domain::case::flow::Status::parse(text)
            .ok_or_else(|| crate::codec::corrupt(column, &object, "not a case status"))
    };
    Ok(CaseEvent {
        seq: u64::try_from(seq)
            .map_err(|error| crate::codec::corrupt("case_event.seq", &object, error))?,
        action: if detail.is_empty() {
            None
        } else {
            Some(
                serde_json::from_str(detail)
                    .map_err(|error| crate::codec::corrupt("case_event.detail", &object, error))?,
            )
        },
        actor,
        at: crate::codec::from_micros(at_us)?,
        from: from
            .as_deref()
            .map(|text| status("case_event.from_status", text))
            .transpose()?,
        to: status("case_event.to_status", to)?,
    })
}

/// The condition that a case still waits for work.
pub(crate) fn open_condition() -> String {
    let closed: Vec<String> = huimin_domain::case::flow::Status::ALL
        .into_iter()
        .filter(|status| !status.is_open())
        .map(|status| format!("'{}'", status.code()))
        .collect();
    format!("status NOT IN ({})", closed.join(", "))
}

/// The WHERE clause of a case query, with its bound values in order.
pub(crate) fn conditions(query: &CaseQuery) -> (String, Vec<String>) {
    let open_only = open_condition();
    // Instants are numbers this crate writes, never text from a caller.
    let from = query
        .reported_from
        .map(|at| format!("reported_at_us >= {}", crate::codec::micros(at)));
    let before = query
        .reported_before
        .map(|at| format!("reported_at_us < {}", crate::codec::micros(at)));
    crate::filter::Filter::default()
        .equal(
            "status",
            query.status.map(|status| status.code().to_owned()),
        )
        .clause(query.open_only.then_some(open_only.as_str()))
        .prefix("grid", query.area.clone())
        .equal("lead_department", query.lead.clone())
        .equal("category", query.category.clone())
        .equal("reporter_phone", query.phone.clone())
        .clause(from.as_deref())
        .clause(before.as_deref())
        .finish()
}

/// The facts of a case as its row's fact columns, in `Tally::FACTS` order.
pub(crate) fn fact_values(case: &Case) -> [i16; 12] {
    facts_as_values(&huimin_domain::case::indicators::CaseFacts::of(case))
}

/// The fact columns' values of `facts`, in the order of `Tally::FACTS`.
pub(crate) fn facts_as_values(facts: &huimin_domain::case::indicators::CaseFacts) -> [i16; 12] {
    facts.values().map(i16::from)
}

/// The facts the fact columns hold (in the order of `Tally::FACTS`); any value but 0 is
/// true, as the indicators' sums would count it.
pub(crate) fn facts_from_values(values: [i16; 12]) -> huimin_domain::case::indicators::CaseFacts {
    huimin_domain::case::indicators::CaseFacts::from_values(values.map(|value| value != 0))
}

/// The SQL of an indicator query: the unit's expression, the conditions (binding the
/// period's bounds as $1 and $2, then the area's range and the department), and the sums.
pub(crate) fn tally_sql(query: &IndicatorQuery) -> (String, Vec<String>) {
    let unit = match query.by.area_digits() {
        Some(digits) => format!("substr(grid, 1, {digits})"),
        None if query.by == Unit::Department => "COALESCE(lead_department, '')".to_owned(),
        None => "reported_by".to_owned(),
    };
    let mut conditions = vec![
        "reported_at_us >= $1".to_owned(),
        "reported_at_us < $2".to_owned(),
    ];
    let mut values = Vec::new();
    if let Some(area) = &query.area {
        values.push(area.clone());
        values.push(format!("{area}\u{10FFFF}"));
        conditions.push("grid >= $3 AND grid < $4".to_owned());
    }
    if query.by.area_digits().is_some() {
        conditions.push("grid IS NOT NULL".to_owned());
    }
    if let Some(department) = &query.department {
        values.push(department.clone());
        conditions.push(format!("lead_department = ${}", values.len() + 2));
    }
    let sums: Vec<String> = Tally::FACTS
        .iter()
        .map(|fact| format!("SUM({fact}) AS {fact}"))
        .collect();
    (
        format!(
            "SELECT {unit} AS unit, COUNT(*) AS reports, {} FROM case_record WHERE {} GROUP BY {unit} ORDER BY {unit}",
            sums.join(", "),
            conditions.join(" AND ")
        ),
        values,
    )
}

macro_rules! case_store {
    ($store:ty, $database:ty, $row:ty, $explicit_id:literal, $after_load:literal) => {
        pub(crate) mod case_queries {
            use super::audit_queries::append_in;
            use crate::case::{CASE_ROW, CASE_COLUMNS, SMS_COLUMNS, conditions, decode_case, decode_event, encode_case, encode_event, fact_values, tally_sql};
            use huimin_domain::case::indicators::{IndicatorQuery, Tally};
            use crate::codec::micros;
            use crate::storage_error;
            use async_trait::async_trait;
            use huimin_domain::audit::AuditEvent;
            use huimin_domain::case::{Case, CaseEvent, CaseQuery};
            use huimin_domain::case::sms::{InboundSms, SmsMessage, SmsStatus};
            use huimin_domain::storage::{CaseStore, Page, PageRequest, StorageResult};
            use sqlx::Row;

            type DatabaseRow = $row;

            fn get<'r, T>(row: &'r DatabaseRow, column: &str) -> StorageResult<T>
            where
                T: sqlx::Decode<'r, $database> + sqlx::Type<$database>,
            {
                row.try_get(column).map_err(|e| storage_error(column, e))
            }

            fn read_photo(row: &DatabaseRow) -> StorageResult<huimin_domain::case::photo::PhotoMeta> {
                let number = |column: &str| -> StorageResult<u64> {
                    let value: i64 = get(row, column)?;
                    u64::try_from(value).map_err(|e| storage_error(column, e))
                };
                Ok(huimin_domain::case::photo::PhotoMeta {
                    id: number("id")?,
                    case_id: number("case_id")?,
                    content_type: get(row, "content_type")?,
                    size_bytes: number("size_bytes")?,
                    sha256: get(row, "sha256")?,
                    uploaded_by: get(row, "uploaded_by")?,
                    uploaded_at: crate::codec::from_micros(get(row, "uploaded_at_us")?)?,
                })
            }

            fn read_sms(row: &DatabaseRow) -> StorageResult<SmsMessage> {
                let number = |column: &str| -> StorageResult<u64> {
                    let value: i64 = get(row, column)?;
                    u64::try_from(value).map_err(|e| storage_error(column, e))
                };
                let phone: String = get(row, "phone")?;
                let status: String = get(row, "status")?;
                let case_id: Option<i64> = get(row, "case_id")?;
                let handled_at: Option<i64> = get(row, "handled_at_us")?;
                Ok(SmsMessage {
                    id: number("id")?,
                    message_id: get(row, "message_id")?,
                    phone: huimin_domain::identifiers::Phone::parse(&phone)
                        .map_err(|e| storage_error("sms_message.phone", e))?,
                    text: get(row, "body")?,
                    received_at: crate::codec::from_micros(get(row, "received_at_us")?)?,
                    status: SmsStatus::parse(&status).ok_or_else(|| {
                        huimin_domain::storage::StorageError::new(format!("sms_message.status: unknown status '{status}'"))
                    })?,
                    case_id: case_id.and_then(|id| u64::try_from(id).ok()),
                    handled_by: get(row, "handled_by")?,
                    handled_at: handled_at.map(crate::codec::from_micros).transpose()?,
                    reason: get(row, "reason")?,
                })
            }

            fn read_case(row: &DatabaseRow) -> StorageResult<Case> {
                decode_case(get(row, "id")?, get(row, "version")?, &get::<String>(row, "body")?)
            }

            /// Appends `events` to a case's timeline in one statement.
            async fn insert_events(
                transaction: &mut sqlx::Transaction<'static, $database>,
                case_id: i64,
                events: &[CaseEvent],
            ) -> StorageResult<()> {
                let mut rows = Vec::with_capacity(events.len());
                for event in events {
                    let (action, detail) = encode_event(event)?;
                    let seq = i64::try_from(event.seq).map_err(|e| storage_error("event number", e))?;
                    rows.push((seq, action, event, detail));
                }
                let mut insert = sqlx::QueryBuilder::<$database>::new(
                    "INSERT INTO case_event (case_id, seq, action, actor, at_us, from_status, to_status, detail) ",
                );
                insert.push_values(rows, |mut row, (seq, action, event, detail)| {
                    row.push_bind(case_id)
                        .push_bind(seq)
                        .push_bind(action)
                        .push_bind(event.actor.clone())
                        .push_bind(micros(event.at))
                        .push_bind(event.from.map(|status| status.code()))
                        .push_bind(event.to.code())
                        .push_bind(detail);
                });
                insert
                    .build()
                    .execute(&mut **transaction)
                    .await
                    .map_err(|e| storage_error("appending case events", e))?;
                Ok(())
            }

            /// Writes a new case with its report, its steps and their audit entries inside
            /// `transaction`; returns its id.
            async fn insert_case(
                transaction: &mut sqlx::Transaction<'static, $database>,
                case: &Case,
                audit: &AuditEvent,
                steps: &[(CaseEvent, AuditEvent)],
            ) -> StorageResult<i64> {
                let facts = fact_values(case);
                let version = i64::try_from(steps.len() + 1).map_err(|e| storage_error("case version", e))?;
                let mut insert = sqlx::query_scalar(sql!(
                    "INSERT INTO case_record ({CASE_ROW}) VALUES ({}) RETURNING id",
                    (1..=26).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
                ))
                .bind(case.channel.code())
                .bind(case.category.as_str())
                .bind(case.flow.status.code())
                .bind(case.grid.as_deref())
                .bind(case.flow.lead.as_deref())
                .bind(case.priority.code())
                .bind(version)
                .bind(micros(case.reported_at))
                .bind(micros(case.updated_at))
                .bind(encode_case(&Case { version: version as u64, ..case.clone() })?)
                .bind(case.reported_by.as_str())
                .bind(case.reporter.phone.as_ref().map(|phone| phone.as_str()))
                .bind(case.location.longitude)
                .bind(case.location.latitude);
                for fact in facts {
                    insert = insert.bind(fact);
                }
                let id: i64 = insert
                .fetch_one(&mut **transaction)
                .await
                .map_err(|e| storage_error("writing a case", e))?;
                insert_events(transaction, id, &case.opening_timeline(steps.iter().map(|(event, _)| event))).await?;
                let mut audits = vec![AuditEvent { object_id: id.to_string(), ..audit.clone() }];
                audits.extend(steps.iter().map(|(_, audit)| AuditEvent { object_id: id.to_string(), ..audit.clone() }));
                append_in(transaction, &audits, case.updated_at).await?;
                Ok(id)
            }

            #[async_trait]
            impl CaseStore for $store {
                async fn create_case(
                    &self,
                    case: &Case,
                    audit: &AuditEvent,
                    steps: &[(CaseEvent, AuditEvent)],
                ) -> StorageResult<u64> {
                    let mut transaction = self.begin_write().await?;
                    let id = insert_case(&mut transaction, case, audit, steps).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(u64::try_from(id).unwrap_or(0))
                }

                async fn case(&self, id: u64) -> StorageResult<Option<Case>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(None) };
                    let row = sqlx::query(sql!("SELECT {CASE_COLUMNS} FROM case_record WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading a case", e))?;
                    row.as_ref().map(read_case).transpose()
                }

                async fn case_events(&self, id: u64) -> StorageResult<Vec<CaseEvent>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(Vec::new()) };
                    let rows = sqlx::query(
                        "SELECT seq, actor, at_us, from_status, to_status, detail FROM case_event \
                         WHERE case_id = $1 ORDER BY seq",
                    )
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading a case's events", e))?;
                    rows.iter()
                        .map(|row| {
                            decode_event(
                                id,
                                get(row, "seq")?,
                                get(row, "actor")?,
                                get(row, "at_us")?,
                                get(row, "from_status")?,
                                &get::<String>(row, "to_status")?,
                                &get::<String>(row, "detail")?,
                            )
                        })
                        .collect()
                }

                async fn update_case(
                    &self,
                    case: &Case,
                    expected_version: u64,
                    event: &CaseEvent,
                    audit: &AuditEvent,
                ) -> StorageResult<bool> {
                    let (Ok(id), Ok(expected), Ok(version)) = (
                        i64::try_from(case.id),
                        i64::try_from(expected_version),
                        i64::try_from(case.version),
                    ) else {
                        return Ok(false);
                    };
                    let mut transaction = self.begin_write().await?;
                    let facts: Vec<String> = Tally::FACTS
                        .iter()
                        .enumerate()
                        .map(|(index, fact)| format!("{fact} = ${}", index + 11))
                        .collect();
                    let mut update = sqlx::query(sql!(
                        "UPDATE case_record SET category = $1, status = $2, grid = $3, lead_department = $4, priority = $5, \
                         version = $6, updated_at_us = $7, body = $8, {} WHERE id = $9 AND version = $10",
                        facts.join(", ")
                    ))
                    .bind(case.category.as_str())
                    .bind(case.flow.status.code())
                    .bind(case.grid.as_deref())
                    .bind(case.flow.lead.as_deref())
                    .bind(case.priority.code())
                    .bind(version)
                    .bind(micros(case.updated_at))
                    .bind(encode_case(case)?)
                    .bind(id)
                    .bind(expected);
                    for fact in fact_values(case) {
                        update = update.bind(fact);
                    }
                    let changed = update
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("changing a case", e))?
                    .rows_affected();
                    if changed == 0 {
                        return Ok(false);
                    }
                    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM case_event WHERE case_id = $1")
                        .bind(id)
                        .fetch_one(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("numbering a case event", e))?;
                    let numbered = CaseEvent { seq: u64::try_from(next).unwrap_or(0), ..event.clone() };
                    insert_events(&mut transaction, id, std::slice::from_ref(&numbered)).await?;
                    append_in(&mut transaction, std::slice::from_ref(audit), event.at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(true)
                }

                async fn cases_after(&self, after: u64, limit: u32) -> StorageResult<Vec<Case>> {
                    let after = i64::try_from(after).unwrap_or(i64::MAX);
                    let rows = sqlx::query(sql!(
                        "SELECT {CASE_COLUMNS} FROM case_record WHERE id > $1 ORDER BY id LIMIT $2"
                    ))
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("walking cases", e))?;
                    rows.iter().map(read_case).collect()
                }

                async fn kept_facts(&self, id: u64) -> StorageResult<Option<huimin_domain::case::indicators::CaseFacts>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(None) };
                    let row = sqlx::query(sql!(
                        "SELECT {} FROM case_record WHERE id = $1",
                        Tally::FACTS.join(", ")
                    ))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading a case's facts", e))?;
                    let Some(row) = row else { return Ok(None) };
                    let mut values = [0_i16; 12];
                    for (value, fact) in values.iter_mut().zip(Tally::FACTS) {
                        *value = get(&row, fact)?;
                    }
                    Ok(Some(crate::case::facts_from_values(values)))
                }

                async fn rewrite_facts(
                    &self,
                    id: u64,
                    version: u64,
                    facts: &huimin_domain::case::indicators::CaseFacts,
                    audit: &AuditEvent,
                    at: chrono::DateTime<chrono::Utc>,
                ) -> StorageResult<bool> {
                    let (Ok(id), Ok(version)) = (i64::try_from(id), i64::try_from(version)) else {
                        return Ok(false);
                    };
                    let mut transaction = self.begin_write().await?;
                    let columns: Vec<String> = Tally::FACTS
                        .iter()
                        .enumerate()
                        .map(|(index, fact)| format!("{fact} = ${}", index + 3))
                        .collect();
                    let mut update = sqlx::query(sql!(
                        "UPDATE case_record SET {} WHERE id = $1 AND version = $2",
                        columns.join(", ")
                    ))
                    .bind(id)
                    .bind(version);
                    for value in crate::case::facts_as_values(facts) {
                        update = update.bind(value);
                    }
                    let changed = update
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("rewriting a case's facts", e))?
                        .rows_affected();
                    if changed == 0 {
                        return Ok(false);
                    }
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(true)
                }

                async fn open_cases_near(
                    &self,
                    category: &str,
                    (min_longitude, min_latitude, max_longitude, max_latitude): (f64, f64, f64, f64),
                    since: chrono::DateTime<chrono::Utc>,
                    limit: u32,
                ) -> StorageResult<Vec<Case>> {
                    let rows = sqlx::query(sql!(
                        "SELECT {CASE_COLUMNS} FROM case_record WHERE category = $1 AND latitude >= $2 AND latitude <= $3 \
                         AND longitude >= $4 AND longitude <= $5 AND reported_at_us >= $6 AND {} \
                         ORDER BY id DESC LIMIT {limit}",
                        crate::case::open_condition()
                    ))
                    .bind(category)
                    .bind(min_latitude)
                    .bind(max_latitude)
                    .bind(min_longitude)
                    .bind(max_longitude)
                    .bind(micros(since))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("finding cases nearby", e))?;
                    rows.iter().map(read_case).collect()
                }

                async fn case_tallies(&self, query: &IndicatorQuery) -> StorageResult<Vec<(String, Tally)>> {
                    let (text, values) = tally_sql(query);
                    let mut select = sqlx::query(sqlx::AssertSqlSafe(text))
                        .bind(micros(query.from))
                        .bind(micros(query.to));
                    for value in &values {
                        select = select.bind(value.as_str());
                    }
                    let rows = select.fetch_all(&self.pool).await.map_err(|e| storage_error("counting indicators", e))?;
                    rows.iter()
                        .map(|row| {
                            let count = |column: &str| -> StorageResult<u64> {
                                let value: Option<i64> = get(row, column)?;
                                Ok(u64::try_from(value.unwrap_or(0)).unwrap_or(0))
                            };
                            let mut sums = [0_u64; 12];
                            for (sum, fact) in sums.iter_mut().zip(Tally::FACTS) {
                                *sum = count(fact)?;
                            }
                            let unit: Option<String> = get(row, "unit")?;
                            Ok((unit.unwrap_or_default(), Tally::from_sums(count("reports")?, sums)))
                        })
                        .collect()
                }

                async fn load_cases(&self, cases: &[(Case, Vec<CaseEvent>)]) -> StorageResult<()> {
                    let mut transaction = self.begin_write().await?;
                    for chunk in cases.chunks(500) {
                        let mut insert = sqlx::QueryBuilder::<$database>::new(format!(
                            "INSERT INTO case_record (id, {CASE_ROW}) {} ",
                            $explicit_id
                        ));
                        let mut fault = None;
                        insert.push_values(chunk, |mut row, (case, _)| {
                            let body = encode_case(case).unwrap_or_else(|error| {
                                fault = Some(error);
                                String::new()
                            });
                            row.push_bind(i64::try_from(case.id).unwrap_or(i64::MAX))
                                .push_bind(case.channel.code())
                                .push_bind(case.category.clone())
                                .push_bind(case.flow.status.code())
                                .push_bind(case.grid.clone())
                                .push_bind(case.flow.lead.clone())
                                .push_bind(case.priority.code())
                                .push_bind(i64::try_from(case.version).unwrap_or(i64::MAX))
                                .push_bind(micros(case.reported_at))
                                .push_bind(micros(case.updated_at))
                                .push_bind(body)
                                .push_bind(case.reported_by.clone())
                                .push_bind(case.reporter.phone.as_ref().map(|phone| phone.as_str().to_owned()))
                                .push_bind(case.location.longitude)
                                .push_bind(case.location.latitude);
                            for fact in fact_values(case) {
                                row.push_bind(fact);
                            }
                        });
                        if let Some(error) = fault {
                            return Err(error);
                        }
                        insert
                            .build()
                            .execute(&mut *transaction)
                            .await
                            .map_err(|e| storage_error("loading cases", e))?;
                        let mut events = Vec::new();
                        for (case, timeline) in chunk {
                            for event in timeline {
                                let (action, detail) = encode_event(event)?;
                                events.push((case.id, event, action, detail));
                            }
                        }
                        for part in events.chunks(1000) {
                            let mut insert = sqlx::QueryBuilder::<$database>::new(
                                "INSERT INTO case_event (case_id, seq, action, actor, at_us, from_status, to_status, detail) ",
                            );
                            insert.push_values(part, |mut row, (case_id, event, action, detail)| {
                                row.push_bind(i64::try_from(*case_id).unwrap_or(i64::MAX))
                                    .push_bind(i64::try_from(event.seq).unwrap_or(i64::MAX))
                                    .push_bind(action.clone())
                                    .push_bind(event.actor.clone())
                                    .push_bind(micros(event.at))
                                    .push_bind(event.from.map(|status| status.code()))
                                    .push_bind(event.to.code())
                                    .push_bind(detail.clone());
                            });
                            insert
                                .build()
                                .execute(&mut *transaction)
                                .await
                                .map_err(|e| storage_error("loading case events", e))?;
                        }
                    }
                    sqlx::query($after_load)
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("loading cases", e))?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(())
                }

                async fn add_photo(
                    &self,
                    meta: &huimin_domain::case::photo::PhotoMeta,
                    bytes: &[u8],
                    audit: &AuditEvent,
                ) -> StorageResult<u64> {
                    let mut transaction = self.begin_write().await?;
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO case_photo (case_id, content_type, size_bytes, sha256, uploaded_by, uploaded_at_us, bytes) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    )
                    .bind(i64::try_from(meta.case_id).map_err(|e| storage_error("case id", e))?)
                    .bind(meta.content_type.as_str())
                    .bind(i64::try_from(bytes.len()).map_err(|e| storage_error("photo size", e))?)
                    .bind(meta.sha256.as_str())
                    .bind(meta.uploaded_by.as_str())
                    .bind(micros(meta.uploaded_at))
                    .bind(bytes)
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("keeping a photo", e))?;
                    let event = AuditEvent { object_id: format!("{}/{id}", meta.case_id), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), meta.uploaded_at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(u64::try_from(id).unwrap_or(0))
                }

                async fn photos(&self, case_id: u64) -> StorageResult<Vec<huimin_domain::case::photo::PhotoMeta>> {
                    let Ok(case_id) = i64::try_from(case_id) else { return Ok(Vec::new()) };
                    let rows = sqlx::query(
                        "SELECT id, case_id, content_type, size_bytes, sha256, uploaded_by, uploaded_at_us FROM case_photo \
                         WHERE case_id = $1 ORDER BY id",
                    )
                    .bind(case_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("listing photos", e))?;
                    rows.iter().map(read_photo).collect()
                }

                async fn photo(
                    &self,
                    case_id: u64,
                    photo_id: u64,
                ) -> StorageResult<Option<(huimin_domain::case::photo::PhotoMeta, Vec<u8>)>> {
                    let (Ok(case_id), Ok(photo_id)) = (i64::try_from(case_id), i64::try_from(photo_id)) else {
                        return Ok(None);
                    };
                    let row = sqlx::query(
                        "SELECT id, case_id, content_type, size_bytes, sha256, uploaded_by, uploaded_at_us, bytes FROM case_photo \
                         WHERE case_id = $1 AND id = $2",
                    )
                    .bind(case_id)
                    .bind(photo_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading a photo", e))?;
                    match row {
                        None => Ok(None),
                        Some(row) => Ok(Some((read_photo(&row)?, get::<Vec<u8>>(&row, "bytes")?))),
                    }
                }

                async fn dispatch_rules(&self) -> StorageResult<Vec<huimin_domain::case::dispatch::DispatchRule>> {
                    let rows = sqlx::query(
                        "SELECT category, area, lead_department, assisting, level FROM dispatch_rule ORDER BY position",
                    )
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("reading dispatch rules", e))?;
                    rows.iter()
                        .map(|row| {
                            let level: String = get(row, "level")?;
                            let assisting: String = get(row, "assisting")?;
                            Ok(huimin_domain::case::dispatch::DispatchRule {
                                category: get(row, "category")?,
                                area: get(row, "area")?,
                                lead: get(row, "lead_department")?,
                                assisting: assisting.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect(),
                                level: huimin_domain::case::flow::Level::parse(&level)
                                    .ok_or_else(|| crate::codec::corrupt("dispatch_rule.level", &level, "not a level"))?,
                            })
                        })
                        .collect()
                }

                async fn replace_dispatch_rules(
                    &self,
                    rules: &[huimin_domain::case::dispatch::DispatchRule],
                    audit: &AuditEvent,
                    at: chrono::DateTime<chrono::Utc>,
                ) -> StorageResult<()> {
                    let mut transaction = self.begin_write().await?;
                    sqlx::query("DELETE FROM dispatch_rule")
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("replacing dispatch rules", e))?;
                    for (position, rule) in rules.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO dispatch_rule (position, category, area, lead_department, assisting, level) \
                             VALUES ($1, $2, $3, $4, $5, $6)",
                        )
                        .bind(i64::try_from(position).map_err(|e| storage_error("rule position", e))?)
                        .bind(rule.category.as_str())
                        .bind(rule.area.as_str())
                        .bind(rule.lead.as_str())
                        .bind(rule.assisting.join(","))
                        .bind(rule.level.code())
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("writing a dispatch rule", e))?;
                    }
                    append_in(&mut transaction, std::slice::from_ref(audit), at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(())
                }

                async fn receive_sms(
                    &self,
                    sms: &InboundSms,
                    audit: &AuditEvent,
                    at: chrono::DateTime<chrono::Utc>,
                ) -> StorageResult<Result<(SmsMessage, bool), SmsMessage>> {
                    let mut transaction = self.begin_write().await?;
                    // ON CONFLICT, not a look-up first: two deliveries of one message at
                    // once must not both insert (nor one fail on the unique key).
                    let inserted: Option<i64> = sqlx::query_scalar(
                        "INSERT INTO sms_message (message_id, phone, body, received_at_us, status) \
                         VALUES ($1, $2, $3, $4, 'new') ON CONFLICT (message_id) DO NOTHING RETURNING id",
                    )
                    .bind(sms.message_id.as_str())
                    .bind(sms.phone.as_str())
                    .bind(sms.text.as_str())
                    .bind(micros(sms.received_at))
                    .fetch_optional(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("keeping an SMS", e))?;
                    let Some(id) = inserted else {
                        drop(transaction);
                        let row = sqlx::query(sql!("SELECT {SMS_COLUMNS} FROM sms_message WHERE message_id = $1"))
                            .bind(sms.message_id.as_str())
                            .fetch_one(&self.pool)
                            .await
                            .map_err(|e| storage_error("reading an SMS", e))?;
                        let kept = read_sms(&row)?;
                        return Ok(if kept.phone == sms.phone && kept.text == sms.text {
                            Ok((kept, false))
                        } else {
                            Err(kept)
                        });
                    };
                    let event = AuditEvent { object_id: id.to_string(), ..audit.clone() };
                    append_in(&mut transaction, std::slice::from_ref(&event), at).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    let message = SmsMessage {
                        id: u64::try_from(id).unwrap_or(0),
                        message_id: sms.message_id.clone(),
                        phone: sms.phone.clone(),
                        text: sms.text.clone(),
                        received_at: sms.received_at,
                        status: SmsStatus::New,
                        case_id: None,
                        handled_by: None,
                        handled_at: None,
                        reason: None,
                    };
                    Ok(Ok((message, true)))
                }

                async fn sms_message(&self, id: u64) -> StorageResult<Option<SmsMessage>> {
                    let Ok(id) = i64::try_from(id) else { return Ok(None) };
                    let row = sqlx::query(sql!("SELECT {SMS_COLUMNS} FROM sms_message WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(|e| storage_error("reading an SMS", e))?;
                    row.as_ref().map(read_sms).transpose()
                }

                async fn sms_messages(
                    &self,
                    status: Option<SmsStatus>,
                    page: PageRequest,
                ) -> StorageResult<Page<SmsMessage>> {
                    let (filter, order) = match status {
                        Some(SmsStatus::New) => ("WHERE status = $1", "received_at_us, id"),
                        Some(_) => ("WHERE status = $1", "received_at_us DESC, id DESC"),
                        None => ("WHERE $1 = $1", "received_at_us DESC, id DESC"),
                    };
                    let code = status.map_or("", SmsStatus::code);
                    let total: i64 = sqlx::query_scalar(sql!("SELECT COUNT(*) FROM sms_message {filter}"))
                        .bind(code)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage_error("counting SMS", e))?;
                    let rows = sqlx::query(sql!(
                        "SELECT {SMS_COLUMNS} FROM sms_message {filter} ORDER BY {order} LIMIT $2 OFFSET $3"
                    ))
                    .bind(code)
                    .bind(i64::from(page.per_page))
                    .bind(i64::try_from(page.offset()).unwrap_or(i64::MAX))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| storage_error("listing SMS", e))?;
                    Ok(Page {
                        items: rows.iter().map(read_sms).collect::<StorageResult<_>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }

                async fn ticket_sms(
                    &self,
                    sms_id: u64,
                    case: &Case,
                    audit: &AuditEvent,
                    steps: &[(CaseEvent, AuditEvent)],
                ) -> StorageResult<Option<u64>> {
                    let sms_id = i64::try_from(sms_id).map_err(|e| storage_error("SMS id", e))?;
                    let mut transaction = self.begin_write().await?;
                    // Claimed first, so that of two agents only one writes a ticket.
                    let claimed = sqlx::query(
                        "UPDATE sms_message SET status = 'ticketed', handled_by = $1, handled_at_us = $2 \
                         WHERE id = $3 AND status = 'new'",
                    )
                    .bind(case.reported_by.as_str())
                    .bind(micros(case.reported_at))
                    .bind(sms_id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("claiming an SMS", e))?
                    .rows_affected();
                    if claimed == 0 {
                        return Ok(None);
                    }
                    let id = insert_case(&mut transaction, case, audit, steps).await?;
                    sqlx::query("UPDATE sms_message SET case_id = $1 WHERE id = $2")
                        .bind(id)
                        .bind(sms_id)
                        .execute(&mut *transaction)
                        .await
                        .map_err(|e| storage_error("linking an SMS to its ticket", e))?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(Some(u64::try_from(id).unwrap_or(0)))
                }

                async fn dismiss_sms(
                    &self,
                    sms_id: u64,
                    reason: &str,
                    audit: &AuditEvent,
                    now: chrono::DateTime<chrono::Utc>,
                ) -> StorageResult<bool> {
                    let sms_id = i64::try_from(sms_id).map_err(|e| storage_error("SMS id", e))?;
                    let mut transaction = self.begin_write().await?;
                    let dismissed = sqlx::query(
                        "UPDATE sms_message SET status = 'dismissed', handled_by = $1, handled_at_us = $2, reason = $3 \
                         WHERE id = $4 AND status = 'new'",
                    )
                    .bind(audit.actor.as_str())
                    .bind(micros(now))
                    .bind(reason)
                    .bind(sms_id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(|e| storage_error("dismissing an SMS", e))?
                    .rows_affected();
                    if dismissed == 0 {
                        return Ok(false);
                    }
                    append_in(&mut transaction, std::slice::from_ref(audit), now).await?;
                    transaction.commit().await.map_err(|e| storage_error("commit", e))?;
                    Ok(true)
                }

                async fn cases(&self, query: &CaseQuery, page: PageRequest) -> StorageResult<Page<Case>> {
                    let (filter, values) = conditions(query);
                    let mut count = sqlx::query_scalar::<_, i64>(sql!("SELECT COUNT(*) FROM case_record {filter}"));
                    for value in &values {
                        count = count.bind(value.as_str());
                    }
                    let total = count.fetch_one(&self.pool).await.map_err(|e| storage_error("counting cases", e))?;
                    let mut select = sqlx::query(sql!(
                        "SELECT {CASE_COLUMNS} FROM case_record {filter} ORDER BY id DESC LIMIT {} OFFSET {}",
                        page.per_page,
                        page.offset()
                    ));
                    for value in &values {
                        select = select.bind(value.as_str());
                    }
                    let rows = select.fetch_all(&self.pool).await.map_err(|e| storage_error("listing cases", e))?;
                    Ok(Page {
                        items: rows.iter().map(read_case).collect::<StorageResult<Vec<_>>>()?,
                        total: u64::try_from(total).unwrap_or(0),
                        page: page.page,
                        per_page: page.per_page,
                    })
                }
            }
        }
    };
}

pub(crate) use case_store;
