//! SMS intake (12345 短信): messages a gateway receives for the hotline's number.
//!
//! A message carries a phone number and free text, nothing more — no category and no
//! place — so it is not a case yet. It waits in the hotline's SMS inbox until an agent
//! reads it and takes it as a ticket (with the category and the location the text gives,
//! or that a call back to the sender learns), or dismisses it with a reason (spam, a
//! message that asks nothing). Each message becomes at most one ticket; the gateway's
//! own message id makes delivery idempotent, since gateways deliver at least once.

use crate::identifiers::Phone;
use crate::registry::FieldError;
use chrono::{DateTime, Duration, Utc};

/// A message as a gateway delivers it (the inbound webhook's body).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InboundSmsDraft {
    /// The gateway's id of the message: a second delivery of the same id is the same
    /// message.
    pub message_id: String,
    /// The sender.
    pub phone: String,
    pub text: String,
    /// When the gateway received it (RFC 3339); the delivery time when absent.
    #[serde(default)]
    pub received_at: Option<String>,
}

/// A checked inbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    pub message_id: String,
    pub phone: Phone,
    pub text: String,
    pub received_at: DateTime<Utc>,
}

/// The longest message kept: a concatenated SMS is at most a few hundred characters.
pub const TEXT_LIMIT: usize = 1000;

/// The longest gateway message id.
pub const MESSAGE_ID_LIMIT: usize = 64;

/// How far ahead of the delivery a reception time may lie (the gateway's clock).
const CLOCK_SKEW_MINUTES: i64 = 5;

impl InboundSmsDraft {
    /// The draft checked, every wrong field named; `now` is the delivery time.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<InboundSms, Vec<FieldError>> {
        let mut errors = Vec::new();
        let message_id = self.message_id.trim();
        if message_id.is_empty()
            || message_id.chars().count() > MESSAGE_ID_LIMIT
            || !message_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        {
            errors.push(FieldError::new(
                "message_id",
                message_id,
                "invalid_message_id",
                format!(
                    "the gateway's message id is 1 to {MESSAGE_ID_LIMIT} letters, digits, '-', '_', '.' or ':'"
                ),
                format!("网关消息编号须为 1 至 {MESSAGE_ID_LIMIT} 位字母、数字或 - _ . :"),
            ));
        }
        let phone = match Phone::parse(&self.phone) {
            Ok(phone) => Some(phone),
            Err(error) => {
                errors.push(FieldError::new(
                    "phone",
                    &self.phone,
                    "invalid_phone",
                    format!("the sender is not a mobile number: {error}"),
                    "发送号码不是有效的手机号码",
                ));
                None
            }
        };
        let text = self.text.trim();
        if text.is_empty() {
            errors.push(FieldError::new(
                "text",
                text,
                "empty_text",
                "the message has no text",
                "短信内容为空",
            ));
        } else if text.chars().count() > TEXT_LIMIT {
            errors.push(FieldError::new(
                "text",
                text,
                "text_too_long",
                format!("a message is at most {TEXT_LIMIT} characters"),
                format!("短信内容不得超过 {TEXT_LIMIT} 字"),
            ));
        }
        let received_at = match self.received_at.as_deref().map(str::trim) {
            None | Some("") => Some(now),
            Some(text) => match DateTime::parse_from_rfc3339(text) {
                Ok(at) if at.with_timezone(&Utc) <= now + Duration::minutes(CLOCK_SKEW_MINUTES) => {
                    Some(at.with_timezone(&Utc))
                }
                Ok(_) => {
                    errors.push(FieldError::new(
                        "received_at",
                        text,
                        "received_in_future",
                        "the reception time lies in the future",
                        "接收时间晚于当前时间",
                    ));
                    None
                }
                Err(_) => {
                    errors.push(FieldError::new(
                        "received_at",
                        text,
                        "invalid_time",
                        "the reception time is an RFC 3339 time, e.g. 2026-12-02T09:30:00+08:00",
                        "接收时间须为 RFC 3339 格式，例如 2026-12-02T09:30:00+08:00",
                    ));
                    None
                }
            },
        };
        match (phone, received_at) {
            (Some(phone), Some(received_at)) if errors.is_empty() => Ok(InboundSms {
                message_id: message_id.to_owned(),
                phone,
                text: text.to_owned(),
                received_at,
            }),
            _ => Err(errors),
        }
    }
}

/// Where a message stands in the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsStatus {
    /// Waiting for an agent.
    New,
    /// Taken as a ticket (`case_id`).
    Ticketed,
    /// Dismissed with a reason.
    Dismissed,
}

impl SmsStatus {
    pub const ALL: [SmsStatus; 3] = [SmsStatus::New, SmsStatus::Ticketed, SmsStatus::Dismissed];

    pub fn code(self) -> &'static str {
        match self {
            SmsStatus::New => "new",
            SmsStatus::Ticketed => "ticketed",
            SmsStatus::Dismissed => "dismissed",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            SmsStatus::New => "待处理",
            SmsStatus::Ticketed => "已转工单",
            SmsStatus::Dismissed => "已作废",
        }
    }

    pub fn parse(text: &str) -> Option<SmsStatus> {
        SmsStatus::ALL
            .into_iter()
            .find(|status| status.code() == text)
    }
}

/// A message as kept in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SmsMessage {
    /// Given by the store.
    pub id: u64,
    pub message_id: String,
    pub phone: Phone,
    pub text: String,
    pub received_at: DateTime<Utc>,
    pub status: SmsStatus,
    /// The ticket it became.
    pub case_id: Option<u64>,
    /// Who ticketed or dismissed it, when, and the dismissal's reason.
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// The reply sent to the sender when their message becomes a ticket.
pub fn acknowledgement(case_id: u64) -> String {
    format!("【12345】您的短信诉求已受理，工单号 {case_id}，我们将按时限办理并回复。")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 1, 30, 0)
            .single()
            .expect("a time")
    }

    fn draft() -> InboundSmsDraft {
        InboundSmsDraft {
            message_id: "gw-20261202-0001".to_owned(),
            phone: "+86 138-1234-5678".to_owned(),
            text: "  幸福路12号门口井盖破损，晚上很危险  ".to_owned(),
            received_at: Some("2026-12-02T09:29:00+08:00".to_owned()),
        }
    }

    #[test]
    fn a_message_is_checked_and_trimmed() {
        let sms = draft().validate(now()).expect("valid");
        assert_eq!(sms.phone.as_str(), "13812345678");
        assert_eq!(sms.text, "幸福路12号门口井盖破损，晚上很危险");
        assert_eq!(sms.received_at, now() - Duration::minutes(1));
        let undated = InboundSmsDraft {
            received_at: None,
            ..draft()
        };
        assert_eq!(undated.validate(now()).expect("valid").received_at, now());
    }

    #[test]
    fn every_wrong_field_is_named() {
        let bad = InboundSmsDraft {
            message_id: "has space".to_owned(),
            phone: "12345".to_owned(),
            text: " ".to_owned(),
            received_at: Some("yesterday".to_owned()),
        };
        let errors = bad.validate(now()).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|error| error.field).collect();
        assert_eq!(fields, ["message_id", "phone", "text", "received_at"]);
        let future = InboundSmsDraft {
            received_at: Some("2026-12-02T10:00:00+08:00".to_owned()),
            ..draft()
        };
        let errors = future.validate(now()).expect_err("in the future");
        assert_eq!(errors[0].code, "received_in_future");
        let long = InboundSmsDraft {
            text: "长".repeat(TEXT_LIMIT + 1),
            ..draft()
        };
        assert_eq!(
            long.validate(now()).expect_err("too long")[0].code,
            "text_too_long"
        );
    }

    proptest::proptest! {
        /// Whatever a gateway sends, validation answers without panicking, and what it
        /// keeps is within the limits.
        #[test]
        fn any_delivery_is_answered(
            message_id in "\\PC{0,80}",
            phone in "[+0-9 -]{0,20}|\\PC{0,20}",
            text in "\\PC{0,1100}",
            received_at in proptest::option::of("\\PC{0,40}"),
        ) {
            let draft = InboundSmsDraft { message_id, phone, text, received_at };
            if let Ok(sms) = draft.validate(now()) {
                proptest::prop_assert!(sms.message_id.chars().count() <= MESSAGE_ID_LIMIT);
                proptest::prop_assert!(!sms.text.is_empty() && sms.text.chars().count() <= TEXT_LIMIT);
                proptest::prop_assert!(sms.received_at <= now() + Duration::minutes(CLOCK_SKEW_MINUTES));
            }
        }
    }

    #[test]
    fn statuses_round_trip() {
        for status in SmsStatus::ALL {
            assert_eq!(SmsStatus::parse(status.code()), Some(status));
        }
        assert_eq!(SmsStatus::parse("read"), None);
        assert!(acknowledgement(42).contains("工单号 42"));
    }
}
