//! The closed loop as an explicit state machine (闭环). A case follows one of two paths:
//!
//! - **grid** (网格): 上报 → 立案 (or 作废) → 派遣 → 处置 → 反馈 → 核查 (pass → 结案; fail →
//!   返工, back to 处置) → 评价; a grid worker may 自行处置 on the spot, which still goes to
//!   核查;
//! - **hotline** (12345): 受理 → 直接答复 (from the knowledge base) or 派单 → 办理 → 答复 →
//!   办结 → 回访 → 评价; 重办 sends a case back to the department.
//!
//! Beside the main line: 退回 / 退单 (the department sends it back to the dispatcher),
//! 改派 (the dispatcher sends it elsewhere), 延期 (an extension, asked by the department
//! and approved by someone else), 挂账 (parked, with a reason, the clock stopped), 督办
//! (supervision, escalated a level each time) and 并单 (merged into an open case).
//!
//! [`Flow::apply`] answers every action with the next flow or the reason it is refused.
//! Nobody closes their own work: the 核查 of a 反馈 or a 自行处置, and the 办结 of an 答复,
//! must come from someone other than who did the work, and an extension from someone
//! other than who asked for it. Who may act at all (roles, jurisdiction) is the access
//! policy's question, not this module's.

use super::category::Stage;
use super::limits::Limit;

/// Which path a case follows, from its channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Path {
    Grid,
    Hotline,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 上报 (grid).
    Reported,
    /// 立案 (grid).
    Registered,
    /// 作废: not a case (terminal).
    Voided,
    /// 派遣 (grid): sent to a department, not yet signed for.
    Dispatched,
    /// 处置 (grid): the department works on it.
    Handling,
    /// 反馈 (grid): the department (or the grid worker) says it is done.
    FedBack,
    /// 结案 (grid): verified.
    Closed,
    /// 受理 (hotline).
    Accepted,
    /// 直接答复 (hotline): answered from the knowledge base.
    Answered,
    /// 派单 (hotline): sent to a department, not yet signed for.
    Assigned,
    /// 办理 (hotline).
    InProgress,
    /// 答复 (hotline): the department's answer.
    Replied,
    /// 办结 (hotline).
    Concluded,
    /// 回访 (hotline): the caller was called back.
    CalledBack,
    /// 评价: rated (terminal).
    Rated,
    /// 并单: merged into another case (terminal).
    Merged,
}

impl Status {
    pub const ALL: [Status; 16] = [
        Status::Reported,
        Status::Registered,
        Status::Voided,
        Status::Dispatched,
        Status::Handling,
        Status::FedBack,
        Status::Closed,
        Status::Accepted,
        Status::Answered,
        Status::Assigned,
        Status::InProgress,
        Status::Replied,
        Status::Concluded,
        Status::CalledBack,
        Status::Rated,
        Status::Merged,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Status::Reported => "reported",
            Status::Registered => "registered",
            Status::Voided => "voided",
            Status::Dispatched => "dispatched",
            Status::Handling => "handling",
            Status::FedBack => "fed_back",
            Status::Closed => "closed",
            Status::Accepted => "accepted",
            Status::Answered => "answered",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::Replied => "replied",
            Status::Concluded => "concluded",
            Status::CalledBack => "called_back",
            Status::Rated => "rated",
            Status::Merged => "merged",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|status| status.code() == text)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Status::Reported => "上报",
            Status::Registered => "立案",
            Status::Voided => "作废",
            Status::Dispatched => "派遣",
            Status::Handling => "处置",
            Status::FedBack => "反馈",
            Status::Closed => "结案",
            Status::Accepted => "受理",
            Status::Answered => "直接答复",
            Status::Assigned => "派单",
            Status::InProgress => "办理",
            Status::Replied => "答复",
            Status::Concluded => "办结",
            Status::CalledBack => "回访",
            Status::Rated => "评价",
            Status::Merged => "并单",
        }
    }

    /// Whether the case is over: nothing but nothing follows.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Voided | Status::Rated | Status::Merged)
    }

    /// Whether the case still waits for work (not closed, concluded or over).
    pub fn is_open(self) -> bool {
        !self.is_terminal()
            && !matches!(
                self,
                Status::Closed | Status::Concluded | Status::CalledBack
            )
    }

    /// The timed stage that runs while a case is in this state.
    pub fn stage(self) -> Option<Stage> {
        match self {
            Status::Reported => Some(Stage::Register),
            Status::Registered | Status::Accepted => Some(Stage::Dispatch),
            Status::Dispatched | Status::Handling | Status::Assigned | Status::InProgress => {
                Some(Stage::Handle)
            }
            Status::FedBack | Status::Replied | Status::Answered | Status::Concluded => {
                Some(Stage::Verify)
            }
            _ => None,
        }
    }
}

/// The level a case is handled at.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 街道 (street / township).
    Street,
    /// 区 (district).
    District,
    /// 市 (city).
    City,
}

impl Level {
    pub fn code(self) -> &'static str {
        match self {
            Level::Street => "street",
            Level::District => "district",
            Level::City => "city",
        }
    }

    pub fn parse(text: &str) -> Option<Level> {
        [Level::Street, Level::District, Level::City]
            .into_iter()
            .find(|level| level.code() == text)
    }

    /// The level above, where supervision escalates to.
    pub fn above(self) -> Level {
        match self {
            Level::Street => Level::District,
            Level::District | Level::City => Level::City,
        }
    }
}

/// Something done to a case.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// 立案.
    Register,
    /// 作废, with why.
    Void { reason: String },
    /// 派遣 / 派单 to a lead department (主办), with assisting ones (协办), at a level;
    /// again on a dispatched case: 改派, which needs a reason.
    Dispatch {
        lead: String,
        #[serde(default)]
        assisting: Vec<String>,
        level: Level,
        #[serde(default)]
        reason: Option<String>,
    },
    /// 签收: the lead department takes the case.
    Accept,
    /// 退回 / 退单: the department sends it back to the dispatcher, with why.
    Return { reason: String },
    /// 反馈 (grid) / 答复 (hotline): the work is done.
    Feedback { note: String },
    /// 自行处置: the grid worker who reported it solved it on the spot.
    SelfHandle { note: String },
    /// 核查: the work is (pass) or is not (返工) done.
    Verify { passed: bool, note: String },
    /// 直接答复 from the knowledge base.
    AnswerDirectly { note: String },
    /// 办结.
    Conclude,
    /// 重办: the answer did not solve it; back to the department.
    Reopen { reason: String },
    /// 回访: the caller called back, and how satisfied (1–5) if reached.
    CallBack {
        reached: bool,
        #[serde(default)]
        satisfaction: Option<u8>,
    },
    /// 评价: five levels, 1 (very dissatisfied) to 5 (very satisfied).
    Rate { satisfaction: u8 },
    /// 延期申请: more time for the handling stage.
    RequestExtension { limit: Limit, reason: String },
    /// The extension approved or refused.
    DecideExtension { approved: bool, note: String },
    /// 挂账: parked, the clock stopped.
    Park { reason: String },
    /// Back from 挂账.
    Unpark,
    /// 督办: supervision from the level above.
    Supervise { note: String },
    /// 并单 into another open case.
    Merge { into: u64 },
}

impl Action {
    pub fn code(&self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Void { .. } => "void",
            Action::Dispatch { .. } => "dispatch",
            Action::Accept => "accept",
            Action::Return { .. } => "return",
            Action::Feedback { .. } => "feedback",
            Action::SelfHandle { .. } => "self_handle",
            Action::Verify { .. } => "verify",
            Action::AnswerDirectly { .. } => "answer_directly",
            Action::Conclude => "conclude",
            Action::Reopen { .. } => "reopen",
            Action::CallBack { .. } => "call_back",
            Action::Rate { .. } => "rate",
            Action::RequestExtension { .. } => "request_extension",
            Action::DecideExtension { .. } => "decide_extension",
            Action::Park { .. } => "park",
            Action::Unpark => "unpark",
            Action::Supervise { .. } => "supervise",
            Action::Merge { .. } => "merge",
        }
    }

    pub fn name_zh(&self) -> &'static str {
        match self {
            Action::Register => "立案",
            Action::Void { .. } => "作废",
            Action::Dispatch { .. } => "派遣",
            Action::Accept => "签收",
            Action::Return { .. } => "退回",
            Action::Feedback { .. } => "反馈",
            Action::SelfHandle { .. } => "自行处置",
            Action::Verify { passed: true, .. } => "核查通过",
            Action::Verify { passed: false, .. } => "核查不通过（返工）",
            Action::AnswerDirectly { .. } => "直接答复",
            Action::Conclude => "办结",
            Action::Reopen { .. } => "重办",
            Action::CallBack { .. } => "回访",
            Action::Rate { .. } => "评价",
            Action::RequestExtension { .. } => "延期申请",
            Action::DecideExtension { .. } => "延期审批",
            Action::Park { .. } => "挂账",
            Action::Unpark => "解除挂账",
            Action::Supervise { .. } => "督办",
            Action::Merge { .. } => "并单",
        }
    }
}

/// Why an action was refused, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FlowError {
    pub message: String,
    pub message_zh: String,
}

fn refuse(message: String, message_zh: String) -> FlowError {
    FlowError {
        message,
        message_zh,
    }
}

/// A case's place in its loop and what the loop remembers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Flow {
    pub path: Path,
    pub status: Status,
    /// 挂账, with its reason.
    pub parked: Option<String>,
    /// An extension asked for and not yet decided, and who asked.
    pub pending_extension: Option<(Limit, String)>,
    /// Extensions approved for the handling stage.
    pub extensions: Vec<Limit>,
    /// Times sent back by 核查 or 重办 (返工率).
    pub reworks: u32,
    /// Times supervised (督办), and the level the case is watched from.
    pub supervisions: u32,
    pub lead: Option<String>,
    pub assisting: Vec<String>,
    pub level: Option<Level>,
    /// Who did the work now awaiting 核查 or 办结.
    pub worked_by: Option<String>,
    pub merged_into: Option<u64>,
    pub satisfaction: Option<u8>,
}

impl Flow {
    /// A new case: a grid report starts at 上报, a hotline ticket at 受理.
    pub fn new(path: Path) -> Flow {
        Flow {
            path,
            status: match path {
                Path::Grid => Status::Reported,
                Path::Hotline => Status::Accepted,
            },
            parked: None,
            pending_extension: None,
            extensions: Vec::new(),
            reworks: 0,
            supervisions: 0,
            lead: None,
            assisting: Vec::new(),
            level: None,
            worked_by: None,
            merged_into: None,
            satisfaction: None,
        }
    }

    /// Whether the clock of the running stage stands still: parked, or waiting for an
    /// extension's decision.
    pub fn is_paused(&self) -> bool {
        self.parked.is_some() || self.pending_extension.is_some()
    }

    /// The flow after `actor` does `action`, or why not.
    pub fn apply(&self, action: &Action, actor: &str) -> Result<Flow, FlowError> {
        let status = self.status;
        let not_now = || {
            refuse(
                format!(
                    "a case in state {} ({}) cannot be given '{}'",
                    status.code(),
                    status.name_zh(),
                    action.code()
                ),
                format!(
                    "处于“{}”状态的案件不能{}",
                    status.name_zh(),
                    action.name_zh()
                ),
            )
        };
        let needs_text = |field: &str, text: &str| {
            if text.trim().is_empty() {
                Err(refuse(
                    format!("'{}' needs a {field}", action.code()),
                    format!(
                        "{}须填写{}",
                        action.name_zh(),
                        match field {
                            "reason" => "原因",
                            _ => "说明",
                        }
                    ),
                ))
            } else {
                Ok(())
            }
        };
        // A reporter whose case was merged keeps their own callback and rating.
        if status == Status::Merged
            && matches!(action, Action::CallBack { .. } | Action::Rate { .. })
        {
            if self.satisfaction.is_some() {
                return Err(refuse(
                    "this reporter has already been called back or has rated".to_owned(),
                    "该报告人已回访或已评价".to_owned(),
                ));
            }
            let mut next = self.clone();
            match action {
                Action::CallBack {
                    reached: true,
                    satisfaction: Some(level),
                }
                | Action::Rate {
                    satisfaction: level,
                } if (1..=5).contains(level) => next.satisfaction = Some(*level),
                Action::CallBack {
                    reached: false,
                    satisfaction: None,
                } => {}
                _ => {
                    return Err(refuse(
                        "a satisfaction is 1 to 5, and an unreached caller gives none".to_owned(),
                        "满意度为 1 至 5 级，未接通时不记录".to_owned(),
                    ));
                }
            }
            return Ok(next);
        }
        if status.is_terminal() {
            return Err(refuse(
                format!(
                    "the case is {} ({}): nothing follows",
                    status.code(),
                    status.name_zh()
                ),
                format!("案件已{}，不能再操作", status.name_zh()),
            ));
        }
        if self.parked.is_some() && !matches!(action, Action::Unpark | Action::Supervise { .. }) {
            return Err(refuse(
                "the case is parked (挂账): unpark it first".to_owned(),
                "案件已挂账，须先解除挂账".to_owned(),
            ));
        }
        let mut next = self.clone();
        let grid = self.path == Path::Grid;
        match action {
            Action::Register => {
                if status != Status::Reported {
                    return Err(not_now());
                }
                next.status = Status::Registered;
            }
            Action::Void { reason } => {
                needs_text("reason", reason)?;
                if !matches!(status, Status::Reported | Status::Accepted) {
                    return Err(not_now());
                }
                next.status = Status::Voided;
            }
            Action::Dispatch {
                lead,
                assisting,
                level,
                reason,
            } => {
                if lead.trim().is_empty() {
                    return Err(refuse(
                        "a dispatch names its lead department".to_owned(),
                        "派遣须指定主办部门".to_owned(),
                    ));
                }
                if assisting.iter().any(|department| department == lead) {
                    return Err(refuse(
                        format!("{lead} cannot both lead and assist"),
                        format!("{lead} 不能既主办又协办"),
                    ));
                }
                let redirect = matches!(status, Status::Dispatched | Status::Assigned);
                if redirect {
                    needs_text("reason", reason.as_deref().unwrap_or(""))?;
                } else if !matches!(status, Status::Registered | Status::Accepted) {
                    return Err(not_now());
                }
                next.status = if grid {
                    Status::Dispatched
                } else {
                    Status::Assigned
                };
                next.lead = Some(lead.clone());
                next.assisting = assisting.clone();
                next.level = Some(*level);
            }
            Action::Accept => {
                next.status = match status {
                    Status::Dispatched => Status::Handling,
                    Status::Assigned => Status::InProgress,
                    _ => return Err(not_now()),
                };
            }
            Action::Return { reason } => {
                needs_text("reason", reason)?;
                next.status = match status {
                    Status::Dispatched | Status::Handling => Status::Registered,
                    Status::Assigned | Status::InProgress => Status::Accepted,
                    _ => return Err(not_now()),
                };
                next.lead = None;
                next.assisting.clear();
                next.pending_extension = None;
            }
            Action::Feedback { note } => {
                needs_text("note", note)?;
                next.status = match status {
                    Status::Handling => Status::FedBack,
                    Status::InProgress => Status::Replied,
                    _ => return Err(not_now()),
                };
                next.worked_by = Some(actor.to_owned());
                next.pending_extension = None;
            }
            Action::SelfHandle { note } => {
                needs_text("note", note)?;
                if status != Status::Reported {
                    return Err(not_now());
                }
                next.status = Status::FedBack;
                next.worked_by = Some(actor.to_owned());
            }
            Action::Verify { passed, note } => {
                if status != Status::FedBack {
                    return Err(not_now());
                }
                if self.worked_by.as_deref() == Some(actor) {
                    return Err(refuse(
                        "nobody verifies their own work: another person must 核查 it".to_owned(),
                        "不能核查自己处置的案件，须由他人核查".to_owned(),
                    ));
                }
                if *passed {
                    next.status = Status::Closed;
                } else {
                    needs_text("note", note)?;
                    next.reworks += 1;
                    // Self-handled on the spot: back to the dispatcher, not to a department.
                    next.status = if self.lead.is_some() {
                        Status::Handling
                    } else {
                        Status::Registered
                    };
                    next.worked_by = None;
                }
            }
            Action::AnswerDirectly { note } => {
                needs_text("note", note)?;
                if status != Status::Accepted {
                    return Err(not_now());
                }
                next.status = Status::Answered;
                next.worked_by = Some(actor.to_owned());
            }
            Action::Conclude => {
                match status {
                    Status::Replied => {
                        if self.worked_by.as_deref() == Some(actor) {
                            return Err(refuse(
                                "nobody concludes their own answer: the hotline centre does"
                                    .to_owned(),
                                "不能办结自己答复的工单，须由热线中心办结".to_owned(),
                            ));
                        }
                    }
                    Status::Answered => {}
                    _ => return Err(not_now()),
                }
                next.status = Status::Concluded;
            }
            Action::Reopen { reason } => {
                needs_text("reason", reason)?;
                if !matches!(
                    status,
                    Status::Replied | Status::Concluded | Status::CalledBack
                ) {
                    return Err(not_now());
                }
                next.reworks += 1;
                next.worked_by = None;
                next.satisfaction = None;
                next.status = if self.lead.is_some() {
                    Status::InProgress
                } else {
                    // Answered directly before: to be sent to a department now.
                    Status::Accepted
                };
            }
            Action::CallBack {
                reached,
                satisfaction,
            } => {
                if status != Status::Concluded {
                    return Err(not_now());
                }
                match (reached, satisfaction) {
                    (true, Some(level)) if (1..=5).contains(level) => {
                        next.satisfaction = Some(*level)
                    }
                    (false, None) => {}
                    _ => {
                        return Err(refuse(
                            "a reached caller gives a satisfaction of 1 to 5; an unreached one none".to_owned(),
                            "回访接通时须记录 1 至 5 级满意度，未接通时不记录".to_owned(),
                        ));
                    }
                }
                next.status = Status::CalledBack;
            }
            Action::Rate { satisfaction } => {
                if !(1..=5).contains(satisfaction) {
                    return Err(refuse(
                        format!("satisfaction is 1 to 5, not {satisfaction}"),
                        "满意度为 1 至 5 级".to_owned(),
                    ));
                }
                if !matches!(status, Status::Closed | Status::CalledBack) {
                    return Err(not_now());
                }
                next.satisfaction = Some(*satisfaction);
                next.status = Status::Rated;
            }
            Action::RequestExtension { limit, reason } => {
                needs_text("reason", reason)?;
                if !matches!(status, Status::Handling | Status::InProgress) {
                    return Err(not_now());
                }
                if self.pending_extension.is_some() {
                    return Err(refuse(
                        "an extension is already waiting for its decision".to_owned(),
                        "已有待审批的延期申请".to_owned(),
                    ));
                }
                next.pending_extension = Some((*limit, actor.to_owned()));
            }
            Action::DecideExtension { approved, note } => {
                let Some((limit, asked_by)) = &self.pending_extension else {
                    return Err(refuse(
                        "no extension is waiting for a decision".to_owned(),
                        "没有待审批的延期申请".to_owned(),
                    ));
                };
                if asked_by == actor {
                    return Err(refuse(
                        "nobody approves their own extension".to_owned(),
                        "不能审批自己的延期申请".to_owned(),
                    ));
                }
                if !approved {
                    needs_text("note", note)?;
                } else {
                    next.extensions.push(*limit);
                }
                next.pending_extension = None;
            }
            Action::Park { reason } => {
                needs_text("reason", reason)?;
                if !matches!(
                    status,
                    Status::Registered
                        | Status::Dispatched
                        | Status::Handling
                        | Status::Accepted
                        | Status::Assigned
                        | Status::InProgress
                ) {
                    return Err(not_now());
                }
                next.parked = Some(reason.clone());
            }
            Action::Unpark => {
                if self.parked.is_none() {
                    return Err(refuse(
                        "the case is not parked".to_owned(),
                        "案件未挂账".to_owned(),
                    ));
                }
                next.parked = None;
            }
            Action::Supervise { note } => {
                needs_text("note", note)?;
                if !status.is_open() {
                    return Err(not_now());
                }
                next.supervisions += 1;
                next.level = Some(self.level.unwrap_or(Level::Street).above());
            }
            Action::Merge { into } => {
                if !matches!(
                    status,
                    Status::Reported | Status::Registered | Status::Accepted
                ) {
                    return Err(not_now());
                }
                next.merged_into = Some(*into);
                next.status = Status::Merged;
            }
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dispatch(lead: &str) -> Action {
        Action::Dispatch {
            lead: lead.to_owned(),
            assisting: vec!["gongan".to_owned()],
            level: Level::District,
            reason: None,
        }
    }

    fn run(path: Path, steps: &[(&Action, &str)]) -> Result<Flow, FlowError> {
        let mut flow = Flow::new(path);
        for (action, actor) in steps {
            flow = flow.apply(action, actor)?;
        }
        Ok(flow)
    }

    #[test]
    fn the_grid_loop_closes_only_after_someone_else_verifies() {
        let note = |text: &str| text.to_owned();
        let flow = run(
            Path::Grid,
            &[
                (&Action::Register, "dispatcher"),
                (&dispatch("chengguan"), "dispatcher"),
                (&Action::Accept, "cg.officer"),
                (
                    &Action::Feedback {
                        note: note("已清理"),
                    },
                    "cg.officer",
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            (flow.status, flow.lead.as_deref()),
            (Status::FedBack, Some("chengguan"))
        );
        // The handler may not verify their own work.
        let own = flow.apply(
            &Action::Verify {
                passed: true,
                note: String::new(),
            },
            "cg.officer",
        );
        assert!(own.unwrap_err().message_zh.contains("不能核查自己"));
        // A failed check sends it back to the department (返工).
        let rework = flow
            .apply(
                &Action::Verify {
                    passed: false,
                    note: note("仍有垃圾"),
                },
                "grid.worker",
            )
            .unwrap();
        assert_eq!((rework.status, rework.reworks), (Status::Handling, 1));
        let closed = rework
            .apply(
                &Action::Feedback {
                    note: note("已彻底清理"),
                },
                "cg.officer",
            )
            .unwrap()
            .apply(
                &Action::Verify {
                    passed: true,
                    note: String::new(),
                },
                "grid.worker",
            )
            .unwrap();
        assert_eq!(closed.status, Status::Closed);
        let rated = closed
            .apply(&Action::Rate { satisfaction: 5 }, "resident")
            .unwrap();
        assert_eq!((rated.status, rated.satisfaction), (Status::Rated, Some(5)));
        assert!(
            rated
                .apply(&Action::Rate { satisfaction: 4 }, "resident")
                .is_err()
        );
    }

    #[test]
    fn a_self_handled_report_still_needs_verification() {
        let flow = Flow::new(Path::Grid)
            .apply(
                &Action::SelfHandle {
                    note: "当场劝离".into(),
                },
                "grid.worker",
            )
            .unwrap();
        assert_eq!(flow.status, Status::FedBack);
        assert!(
            flow.apply(
                &Action::Verify {
                    passed: true,
                    note: String::new()
                },
                "grid.worker"
            )
            .is_err()
        );
        assert_eq!(
            flow.apply(
                &Action::Verify {
                    passed: true,
                    note: String::new()
                },
                "grid.leader"
            )
            .unwrap()
            .status,
            Status::Closed
        );
        // Failed, it goes to the dispatcher: nobody was dispatched.
        let failed = flow
            .apply(
                &Action::Verify {
                    passed: false,
                    note: "仍在经营".into(),
                },
                "grid.leader",
            )
            .unwrap();
        assert_eq!(failed.status, Status::Registered);
    }

    #[test]
    fn illegal_transitions_are_refused_with_the_reason() {
        let reported = Flow::new(Path::Grid);
        let skip = reported
            .apply(&dispatch("chengguan"), "dispatcher")
            .unwrap_err();
        assert_eq!(
            skip.message,
            "a case in state reported (上报) cannot be given 'dispatch'"
        );
        assert_eq!(skip.message_zh, "处于“上报”状态的案件不能派遣");
        assert!(
            reported
                .apply(
                    &Action::Verify {
                        passed: true,
                        note: String::new()
                    },
                    "x"
                )
                .is_err()
        );
        assert!(
            reported
                .apply(&Action::Void { reason: " ".into() }, "x")
                .is_err()
        );
        let voided = reported
            .apply(
                &Action::Void {
                    reason: "重复上报".into(),
                },
                "x",
            )
            .unwrap();
        assert!(
            voided
                .apply(&Action::Register, "x")
                .unwrap_err()
                .message
                .contains("nothing follows")
        );
        // 改派 needs a reason; a lead cannot also assist.
        let dispatched = run(
            Path::Grid,
            &[(&Action::Register, "d"), (&dispatch("chengguan"), "d")],
        )
        .unwrap();
        assert!(dispatched.apply(&dispatch("zhujian"), "d").is_err());
        let moved = dispatched
            .apply(
                &Action::Dispatch {
                    lead: "zhujian".into(),
                    assisting: Vec::new(),
                    level: Level::Street,
                    reason: Some("属住建职责".into()),
                },
                "d",
            )
            .unwrap();
        assert_eq!(moved.lead.as_deref(), Some("zhujian"));
        let both = Action::Dispatch {
            lead: "gongan".into(),
            assisting: vec!["gongan".into()],
            level: Level::Street,
            reason: Some("x".into()),
        };
        assert!(dispatched.apply(&both, "d").is_err());
        // 退回 goes back to the dispatcher and forgets the department.
        let returned = dispatched
            .apply(
                &Action::Return {
                    reason: "非本部门职责".into(),
                },
                "cg",
            )
            .unwrap();
        assert_eq!(
            (returned.status, returned.lead.clone()),
            (Status::Registered, None)
        );
    }

    #[test]
    fn the_hotline_loop_answers_dispatches_reopens_and_calls_back() {
        // Answered from the knowledge base, concluded, called back, rated.
        let direct = run(
            Path::Hotline,
            &[
                (
                    &Action::AnswerDirectly {
                        note: "告知办理流程".into(),
                    },
                    "agent",
                ),
                (&Action::Conclude, "agent"),
                (
                    &Action::CallBack {
                        reached: true,
                        satisfaction: Some(4),
                    },
                    "agent",
                ),
                (&Action::Rate { satisfaction: 4 }, "agent"),
            ],
        )
        .unwrap();
        assert_eq!(direct.status, Status::Rated);
        // Dispatched: the department answers; the centre concludes; the caller is not
        // satisfied, so it is reopened (重办) with the department.
        let replied = run(
            Path::Hotline,
            &[
                (&dispatch("gongshui"), "agent"),
                (&Action::Accept, "gs.officer"),
                (
                    &Action::Feedback {
                        note: "已抢修".into(),
                    },
                    "gs.officer",
                ),
            ],
        )
        .unwrap();
        assert_eq!(replied.status, Status::Replied);
        assert!(replied.apply(&Action::Conclude, "gs.officer").is_err());
        let concluded = replied.apply(&Action::Conclude, "agent").unwrap();
        assert!(
            concluded
                .apply(
                    &Action::CallBack {
                        reached: true,
                        satisfaction: None
                    },
                    "agent"
                )
                .is_err()
        );
        assert!(
            concluded
                .apply(
                    &Action::CallBack {
                        reached: true,
                        satisfaction: Some(6)
                    },
                    "agent"
                )
                .is_err()
        );
        let called = concluded
            .apply(
                &Action::CallBack {
                    reached: true,
                    satisfaction: Some(1),
                },
                "agent",
            )
            .unwrap();
        let reopened = called
            .apply(
                &Action::Reopen {
                    reason: "仍无水".into(),
                },
                "agent",
            )
            .unwrap();
        assert_eq!(
            (reopened.status, reopened.reworks, reopened.satisfaction),
            (Status::InProgress, 1, None)
        );
        // 退单 goes back to 受理.
        let back = run(Path::Hotline, &[(&dispatch("gongshui"), "agent")])
            .unwrap()
            .apply(
                &Action::Return {
                    reason: "非本单位".into(),
                },
                "sw",
            )
            .unwrap();
        assert_eq!(back.status, Status::Accepted);
    }

    #[test]
    fn parking_extensions_supervision_and_merging() {
        let handling = run(
            Path::Grid,
            &[
                (&Action::Register, "d"),
                (&dispatch("chengguan"), "d"),
                (&Action::Accept, "cg"),
            ],
        )
        .unwrap();
        // 挂账 stops everything but unparking and supervision.
        let parked = handling
            .apply(
                &Action::Park {
                    reason: "待业主决定".into(),
                },
                "d",
            )
            .unwrap();
        assert!(parked.is_paused());
        assert!(
            parked
                .apply(&Action::Feedback { note: "x".into() }, "cg")
                .unwrap_err()
                .message
                .contains("parked")
        );
        let supervised = parked
            .apply(
                &Action::Supervise {
                    note: "请加快".into(),
                },
                "leader",
            )
            .unwrap();
        assert_eq!(
            (supervised.supervisions, supervised.level),
            (1, Some(Level::City))
        );
        let unparked = supervised.apply(&Action::Unpark, "d").unwrap();
        assert!(!unparked.is_paused());
        // An extension: asked, waiting (paused), approved by someone else.
        let limit = Limit::parse("2d").unwrap();
        let asked = unparked
            .apply(
                &Action::RequestExtension {
                    limit,
                    reason: "需采购配件".into(),
                },
                "cg",
            )
            .unwrap();
        assert!(asked.is_paused());
        assert!(
            asked
                .apply(
                    &Action::RequestExtension {
                        limit,
                        reason: "x".into()
                    },
                    "cg"
                )
                .is_err()
        );
        assert!(
            asked
                .apply(
                    &Action::DecideExtension {
                        approved: true,
                        note: String::new()
                    },
                    "cg"
                )
                .is_err()
        );
        assert!(
            asked
                .apply(
                    &Action::DecideExtension {
                        approved: false,
                        note: String::new()
                    },
                    "d"
                )
                .is_err()
        );
        let approved = asked
            .apply(
                &Action::DecideExtension {
                    approved: true,
                    note: String::new(),
                },
                "d",
            )
            .unwrap();
        assert_eq!(
            (approved.extensions.clone(), approved.is_paused()),
            (vec![limit], false)
        );
        // 并单 only before dispatch.
        assert!(approved.apply(&Action::Merge { into: 7 }, "d").is_err());
        let merged = Flow::new(Path::Hotline)
            .apply(&Action::Merge { into: 7 }, "agent")
            .unwrap();
        assert_eq!(
            (merged.status, merged.merged_into),
            (Status::Merged, Some(7))
        );
    }

    #[test]
    fn every_status_has_a_code_that_parses_back() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.code()), Some(status));
        }
        assert_eq!(Status::Reported.stage(), Some(Stage::Register));
        assert_eq!(Status::Assigned.stage(), Some(Stage::Handle));
        assert_eq!(Status::Rated.stage(), None);
        assert_eq!(
            Level::parse("district").map(Level::above),
            Some(Level::City)
        );
    }
}
