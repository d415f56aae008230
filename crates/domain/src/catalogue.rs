//! 信息资源目录 — the catalogue of the information resources that departments share.
//!
//! A department (部门) describes each of its resources (信息资源) with the core metadata
//! of GB/T 21063.3 as the national guide to compiling catalogues (《政务信息资源目录编制
//! 指南（试行）》, 2017) lists them: classification and code, name, provider, summary,
//! format, the information items (信息项) with their data types, the sharing type with its
//! conditions and the legal basis, the open type and the update cycle. Huimin adds what
//! the exchange needs to act on a resource: which subject each record is about (a person,
//! an entity, a house, or nobody), the record key, each item's classification and whether
//! it is personal, and which field of the base registries it feeds.
//!
//! This module parses drafts into [`Resource`]s and [`Department`]s; storing versions,
//! searching and exporting (DCAT-AP) are the store's and the web layer's.
//!
//! Resource codes (信息资源代码) follow the guide: a classification part (类 one digit, 项
//! two, 目 three, 细目 any number of digits), a `/`, and a sequence number, e.g.
//! `301001/000001`. 类 is 1 for base resources (基础信息资源), 2 for thematic ones (主题),
//! 3 for departmental ones (部门).

use crate::identifiers::CreditCode;
use crate::registry::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Declares a closed list of choices, each with a stable code and a Chinese label, both
/// accepted by `parse`.
macro_rules! choices {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $code:literal / $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const CODES: &'static [&'static str] = &[$($code),+];

            /// The stable code, as the API and files spell it.
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }

            /// The Chinese name.
            pub fn label_zh(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            /// The choice named by its code or its Chinese name.
            pub fn parse(text: &str) -> Option<$name> {
                let text = text.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|choice| choice.code() == text || choice.label_zh() == text)
            }
        }
    };
}

choices!(
    /// 资源属性分类 — the first digit (类) of a resource code.
    ResourceClass {
        /// 基础信息资源: population, legal entities, geography, credit, licences.
        Basic = "basic" / "基础信息资源",
        /// 主题信息资源: built by several departments around one theme.
        Thematic = "thematic" / "主题信息资源",
        /// 部门信息资源: one department's own.
        Departmental = "departmental" / "部门信息资源",
    }
);

choices!(
    /// 数据类型 of an information item (GB/T 21063.3's types that exchanged records use).
    DataType {
        Text = "text" / "字符型",
        Integer = "integer" / "整型",
        Decimal = "decimal" / "数值型",
        /// 货币型: an amount in yuan, two decimals.
        Money = "money" / "货币型",
        /// 日期型: `YYYY-MM-DD`.
        Date = "date" / "日期型",
        /// 日期时间型: RFC 3339, or `YYYY-MM-DD HH:MM:SS` in Asia/Shanghai.
        DateTime = "datetime" / "日期时间型",
        /// 逻辑型: 是/否, true/false, 1/0.
        Boolean = "boolean" / "逻辑型",
    }
);

choices!(
    /// The national identifier an item holds, checked on ingestion.
    IdentifierType {
        /// 公民身份号码 (GB 11643).
        CitizenId = "citizen_id" / "公民身份号码",
        /// 统一社会信用代码 (GB 32100).
        CreditCode = "credit_code" / "统一社会信用代码",
        /// A mainland mobile number.
        Phone = "phone" / "手机号码",
        /// 行政区划代码 (GB/T 2260).
        AreaCode = "area_code" / "行政区划代码",
    }
);

choices!(
    /// How closely an item is held: masking and purpose rules follow from it.
    Classification {
        /// 公开: anyone may read it.
        Public = "public" / "公开",
        /// 内部: staff of the city.
        Internal = "internal" / "内部",
        /// 敏感: shown in full only with a stated purpose.
        Sensitive = "sensitive" / "敏感",
        /// 秘密: never exchanged in full (incomes, deposits, health).
        Secret = "secret" / "秘密",
    }
);

choices!(
    /// 共享类型.
    SharingType {
        /// 无条件共享: granted at once to any department that asks.
        Unconditional = "unconditional" / "无条件共享",
        /// 有条件共享: the provider decides each request.
        Conditional = "conditional" / "有条件共享",
        /// 不予共享: refused, with the reason.
        NotShared = "not_shared" / "不予共享",
    }
);

choices!(
    /// 开放类型: whether the resource may be opened to the public.
    OpenType {
        NotOpen = "not_open" / "不予开放",
        Conditional = "conditional" / "有条件开放",
        Unconditional = "unconditional" / "无条件开放",
    }
);

choices!(
    /// 更新周期.
    UpdateFrequency {
        RealTime = "real_time" / "实时",
        Daily = "daily" / "每日",
        Weekly = "weekly" / "每周",
        Monthly = "monthly" / "每月",
        Quarterly = "quarterly" / "每季度",
        Yearly = "yearly" / "每年",
        Irregular = "irregular" / "不定期",
    }
);

choices!(
    /// 信息资源格式.
    ResourceFormat {
        /// 数据库: exchanged as records.
        Database = "database" / "数据库",
        /// 电子表格: CSV or XLSX files.
        Spreadsheet = "spreadsheet" / "电子表格",
        /// 电子文件: documents.
        Document = "document" / "电子文件",
        /// 接口: an online service.
        Interface = "interface" / "接口",
    }
);

choices!(
    /// Whom each record of a resource is about, and so how it links to the registries.
    SubjectKind {
        /// A person, by identity number.
        Person = "person" / "自然人",
        /// A legal entity, by unified social credit code.
        Entity = "entity" / "法人",
        /// A house, by its registry id.
        House = "house" / "房屋",
        /// Nobody in particular (statistics, places).
        None = "none" / "无",
    }
);

choices!(
    /// A field of the base registries that a resource's item can feed. One resource is
    /// the authoritative source of each (一数一源); others that carry it are compared.
    RegistryField {
        PersonName = "person.name" / "姓名",
        PersonEthnicity = "person.ethnicity" / "民族",
        PersonHukouAddress = "person.hukou_address" / "户籍地址",
        PersonResidenceAddress = "person.residence_address" / "居住地址",
        PersonPhone = "person.phone" / "联系电话",
        PersonLifeStatus = "person.life_status" / "人员状态",
        PersonMaritalStatus = "person.marital_status" / "婚姻状况",
        PersonEducation = "person.education" / "文化程度",
        PersonDisability = "person.disability" / "残疾状况",
        EntityName = "entity.name" / "单位名称",
        EntityLegalRepresentative = "entity.legal_representative" / "法定代表人",
        EntityRegisteredAddress = "entity.registered_address" / "注册地址",
        EntityStatus = "entity.status" / "登记状态",
        HouseOwners = "house.owners" / "房屋权利人",
        HouseFloorArea = "house.floor_area_m2" / "建筑面积",
    }
);

/// A department's short id, e.g. `gongan`: 2–32 lower-case ASCII letters, digits or `-`,
/// beginning with a letter. Role assignments name departments by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DepartmentId(String);

impl DepartmentId {
    pub fn parse(text: &str) -> Result<DepartmentId, String> {
        let text = text.trim();
        let well_formed = (2..=32).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if well_formed {
            Ok(DepartmentId(text.to_owned()))
        } else {
            Err(format!(
                "'{text}' is not a department id: 2–32 lower-case letters, digits or '-', beginning with a letter"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DepartmentId {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// 信息资源代码: `类项目细目/顺序码`, e.g. `301001/000001`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceCode(String);

impl ResourceCode {
    pub fn parse(text: &str) -> Result<ResourceCode, String> {
        let text = text.trim();
        let Some((classification, sequence)) = text.split_once('/') else {
            return Err(format!(
                "'{text}' is not a resource code: expected the classification digits, '/', and the sequence number, e.g. 301001/000001"
            ));
        };
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(classification) || classification.len() < 6 || classification.len() > 12 {
            return Err(format!(
                "'{text}': the classification part '{classification}' must be 6–12 digits (类 1, 项 2, 目 3, then 细目)"
            ));
        }
        if !matches!(classification.as_bytes()[0], b'1'..=b'3') {
            return Err(format!(
                "'{text}': 类 (the first digit) must be 1 (basic), 2 (thematic) or 3 (departmental)"
            ));
        }
        if !digits(sequence) || sequence.len() > 10 {
            return Err(format!(
                "'{text}': the sequence number '{sequence}' must be 1–10 digits"
            ));
        }
        Ok(ResourceCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// 类, from the first digit.
    pub fn class(&self) -> ResourceClass {
        match self.0.as_bytes()[0] {
            b'1' => ResourceClass::Basic,
            b'2' => ResourceClass::Thematic,
            _ => ResourceClass::Departmental,
        }
    }
}

impl std::fmt::Display for ResourceCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A department of the city government that provides or consumes data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    /// e.g. 扬州市公安局.
    pub name: String,
    /// The department's unified social credit code (a 机关's begins with 11).
    pub credit_code: CreditCode,
    /// Its information systems (信息系统) that resources come from.
    pub systems: Vec<String>,
}

/// What a form, an API body or a file says about a department, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DepartmentDraft {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub systems: Vec<String>,
}

impl DepartmentDraft {
    pub fn validate(self) -> Result<Department, Vec<FieldError>> {
        let mut errors = Vec::new();
        let id = DepartmentId::parse(&self.id)
            .map_err(|message| {
                errors.push(FieldError::new(
                    "id",
                    &self.id,
                    "department_id",
                    message,
                    "部门标识应为 2–32 位小写字母、数字或连字符，以字母开头",
                ))
            })
            .ok();
        let name = self.name.trim().to_owned();
        check_text(&mut errors, "name", &name, 64);
        let credit_code = CreditCode::parse(&self.credit_code)
            .map_err(|error| {
                errors.push(FieldError::identifier(
                    "credit_code",
                    &self.credit_code,
                    &error,
                ))
            })
            .ok();
        let mut systems = Vec::new();
        for system in &self.systems {
            let system = system.trim();
            if system.is_empty() || system.chars().count() > 64 {
                errors.push(FieldError::new(
                    "systems",
                    system,
                    "system_name",
                    "each information system needs a name of 1–64 characters",
                    "信息系统名称应为 1–64 个字符",
                ));
            } else if !systems.iter().any(|known: &String| known == system) {
                systems.push(system.to_owned());
            }
        }
        match (id, credit_code) {
            (Some(id), Some(credit_code)) if errors.is_empty() => Ok(Department {
                id,
                name,
                credit_code,
                systems,
            }),
            _ => Err(errors),
        }
    }
}

/// 信息项: one field of a resource's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InformationItem {
    /// The column name in files and the API: `[a-z][a-z0-9_]*`, at most 48 characters.
    pub name: String,
    /// The Chinese name, e.g. 居住地址.
    pub title: String,
    pub data_type: DataType,
    /// The longest value accepted, in characters (for text) or digits (for numbers).
    pub length: u32,
    /// Whether a record may leave it empty.
    pub required: bool,
    /// The identifier it holds, checked on ingestion.
    pub identifier: Option<IdentifierType>,
    pub classification: Classification,
    /// Whether it is personal information (PIPL).
    pub personal: bool,
    /// The registry field it feeds, and whether this resource is that field's
    /// authoritative source.
    pub feeds: Option<Feed>,
}

/// An item's tie to a field of the base registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feed {
    pub field: RegistryField,
    /// The one source whose value the registry keeps (一数一源); other feeds are compared
    /// with it and their disagreements become disputes.
    pub authoritative: bool,
}

/// The sharing terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sharing {
    Unconditional,
    /// What a consumer must show, e.g. "经办社会救助审核的部门".
    Conditional {
        conditions: String,
    },
    /// Why it is not shared.
    NotShared {
        reason: String,
    },
}

impl Sharing {
    pub fn kind(&self) -> SharingType {
        match self {
            Sharing::Unconditional => SharingType::Unconditional,
            Sharing::Conditional { .. } => SharingType::Conditional,
            Sharing::NotShared { .. } => SharingType::NotShared,
        }
    }

    /// The conditions or the reason; empty when unconditional.
    pub fn terms(&self) -> &str {
        match self {
            Sharing::Unconditional => "",
            Sharing::Conditional { conditions } => conditions,
            Sharing::NotShared { reason } => reason,
        }
    }
}

/// A catalogued information resource, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub code: ResourceCode,
    pub name: String,
    /// 信息资源摘要.
    pub summary: String,
    /// 信息资源提供方.
    pub provider: DepartmentId,
    /// The provider's information system it comes from, if named.
    pub system: Option<String>,
    pub format: ResourceFormat,
    pub subject: SubjectKind,
    /// The item that holds each record's subject; `None` exactly when the subject is
    /// [`SubjectKind::None`].
    pub subject_item: Option<String>,
    /// The items whose values together identify a record, for upserts and deletions.
    pub record_key: Vec<String>,
    pub items: Vec<InformationItem>,
    pub sharing: Sharing,
    /// 共享依据: the law or document that allows (or forbids) sharing.
    pub legal_basis: String,
    pub open: OpenType,
    pub update_frequency: UpdateFrequency,
    /// Search words besides the name and summary.
    pub keywords: Vec<String>,
}

impl Resource {
    pub fn item(&self, name: &str) -> Option<&InformationItem> {
        self.items.iter().find(|item| item.name == name)
    }

    /// The text searched for this resource: name, summary, keywords and item titles.
    pub fn search_text(&self, provider_name: &str) -> String {
        let mut text = format!(
            "{} {} {} {} {}",
            self.code, self.name, self.summary, provider_name, self.provider
        );
        for keyword in &self.keywords {
            text.push(' ');
            text.push_str(keyword);
        }
        for item in &self.items {
            text.push(' ');
            text.push_str(&item.title);
            text.push(' ');
            text.push_str(&item.name);
        }
        text.to_lowercase()
    }
}

impl Resource {
    /// The draft that validates back to this resource: how the store keeps a version, so
    /// that what is read back has passed the same rules as what was published.
    pub fn to_draft(&self) -> ResourceDraft {
        ResourceDraft {
            code: self.code.to_string(),
            name: self.name.clone(),
            summary: self.summary.clone(),
            provider: self.provider.to_string(),
            system: self.system.clone(),
            format: self.format.code().to_owned(),
            subject: self.subject.code().to_owned(),
            subject_item: self.subject_item.clone(),
            record_key: self.record_key.clone(),
            items: self
                .items
                .iter()
                .map(|item| ItemDraft {
                    name: item.name.clone(),
                    title: item.title.clone(),
                    data_type: item.data_type.code().to_owned(),
                    length: Some(item.length),
                    required: item.required,
                    identifier: item.identifier.map(|kind| kind.code().to_owned()),
                    classification: Some(item.classification.code().to_owned()),
                    personal: item.personal,
                    feeds: item.feeds.map(|feed| feed.field.code().to_owned()),
                    authoritative: item.feeds.is_some_and(|feed| feed.authoritative),
                })
                .collect(),
            sharing: self.sharing.kind().code().to_owned(),
            sharing_terms: self.sharing.terms().to_owned(),
            legal_basis: self.legal_basis.clone(),
            open: self.open.code().to_owned(),
            update_frequency: self.update_frequency.code().to_owned(),
            keywords: self.keywords.clone(),
        }
    }

    /// The registry fields this resource is the authoritative source of.
    pub fn authoritative_fields(&self) -> Vec<RegistryField> {
        self.items
            .iter()
            .filter_map(|item| item.feeds)
            .filter(|feed| feed.authoritative)
            .map(|feed| feed.field)
            .collect()
    }
}

/// A version of a resource as the catalogue keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedResource {
    pub resource: Resource,
    /// 1 for the first publication, one more for each change.
    pub version: u32,
    pub published_at: chrono::DateTime<chrono::Utc>,
    /// The account that published it.
    pub published_by: String,
}

/// What publishing a resource did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publication {
    /// A new version (1 when the code was new).
    Published { version: u32 },
    /// The same as the current version: nothing written.
    Unchanged { version: u32 },
    /// The provider is not a catalogued department.
    UnknownProvider,
    /// The code belongs to another department's resource.
    ProvidedByAnother { provider: DepartmentId },
    /// Another resource is already the authoritative source of a registry field.
    AuthorityTaken {
        field: RegistryField,
        resource: ResourceCode,
    },
}

/// A resource as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSummary {
    pub code: ResourceCode,
    pub name: String,
    pub provider: DepartmentId,
    pub provider_name: String,
    pub sharing: SharingType,
    pub subject: SubjectKind,
    pub version: u32,
    pub published_at: chrono::DateTime<chrono::Utc>,
}

/// How to find resources; every given condition must hold. Results sort by code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceQuery {
    /// Words that must all appear in the code, name, summary, keywords, item titles or
    /// provider's name (Chinese matched as written, Latin letters in any case).
    pub text: Option<String>,
    pub provider: Option<DepartmentId>,
    pub sharing: Option<SharingType>,
    pub subject: Option<SubjectKind>,
}

impl ResourceQuery {
    /// The query's words, lower-cased: split at white space, at most eight.
    pub fn words(&self) -> Vec<String> {
        self.text
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .take(8)
            .map(str::to_lowercase)
            .collect()
    }
}

/// One item of a [`ResourceDraft`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ItemDraft {
    pub name: String,
    pub title: String,
    pub data_type: String,
    pub length: Option<u32>,
    pub required: bool,
    pub identifier: Option<String>,
    /// Defaults to `internal`.
    pub classification: Option<String>,
    pub personal: bool,
    /// A registry field code, e.g. `person.residence_address`.
    pub feeds: Option<String>,
    pub authoritative: bool,
}

/// What a form, an API body or a catalogue file says about a resource, unvalidated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceDraft {
    pub code: String,
    pub name: String,
    pub summary: String,
    pub provider: String,
    pub system: Option<String>,
    pub format: String,
    pub subject: String,
    pub subject_item: Option<String>,
    pub record_key: Vec<String>,
    pub items: Vec<ItemDraft>,
    pub sharing: String,
    /// The conditions (conditional) or the reason (not shared).
    pub sharing_terms: String,
    pub legal_basis: String,
    pub open: String,
    pub update_frequency: String,
    pub keywords: Vec<String>,
}

/// The longest text of a code, name or keyword list entry in a draft.
const NAME_LIMIT: usize = 100;
const SUMMARY_LIMIT: usize = 2_000;
/// A resource has at most this many items.
pub const ITEM_LIMIT: usize = 500;

fn check_text(errors: &mut Vec<FieldError>, field: &'static str, value: &str, limit: usize) {
    if value.is_empty() {
        errors.push(FieldError::missing(field));
    } else if value.chars().count() > limit {
        errors.push(FieldError::new(
            field,
            value,
            "too_long",
            format!("{field} may have at most {limit} characters"),
            format!("{field} 最多 {limit} 个字符"),
        ));
    }
}

fn choice<T: Copy>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    codes: &[&str],
) -> Option<T> {
    if value.trim().is_empty() {
        errors.push(FieldError::missing(field));
        return None;
    }
    let parsed = parse(value);
    if parsed.is_none() {
        errors.push(FieldError::not_one_of(field, value, codes));
    }
    parsed
}

fn item_name_is_valid(name: &str) -> bool {
    (1..=48).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl ItemDraft {
    /// `position` is 1-based, for messages.
    fn validate(&self, position: usize, errors: &mut Vec<FieldError>) -> Option<InformationItem> {
        let before = errors.len();
        let label = format!("items[{position}] '{}'", self.name);
        let item_error = |code: &'static str, message: String, message_zh: String| {
            FieldError::new("items", &self.name, code, message, message_zh)
        };
        let name = self.name.trim().to_owned();
        if !item_name_is_valid(&name) {
            errors.push(item_error(
                "item_name",
                format!("{label}: the name must be 1–48 characters of a–z, 0–9 and '_', beginning with a letter"),
                format!("第 {position} 个信息项的名称应为 1–48 位小写字母、数字或下划线，以字母开头"),
            ));
        }
        let title = self.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > NAME_LIMIT {
            errors.push(item_error(
                "item_title",
                format!("{label}: the title (Chinese name) must be 1–{NAME_LIMIT} characters"),
                format!("第 {position} 个信息项的中文名称应为 1–{NAME_LIMIT} 个字符"),
            ));
        }
        let data_type = DataType::parse(&self.data_type);
        if data_type.is_none() {
            errors.push(item_error(
                "item_data_type",
                format!(
                    "{label}: data_type '{}' must be one of: {}",
                    self.data_type,
                    DataType::CODES.join(", ")
                ),
                format!("第 {position} 个信息项的数据类型无效"),
            ));
        }
        let default_length = match data_type {
            Some(DataType::Date) => 10,
            Some(DataType::DateTime) => 25,
            Some(DataType::Boolean) => 5,
            Some(DataType::Integer) => 19,
            Some(DataType::Decimal | DataType::Money) => 18,
            _ => 0,
        };
        let length = self.length.unwrap_or(default_length);
        if length == 0 || length > 65_535 {
            errors.push(item_error(
                "item_length",
                format!("{label}: length must be 1–65535 (a text item must state its length)"),
                format!("第 {position} 个信息项的长度应为 1–65535"),
            ));
        }
        let identifier = match self.identifier.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => {
                let parsed = IdentifierType::parse(text);
                if parsed.is_none() {
                    errors.push(item_error(
                        "item_identifier",
                        format!(
                            "{label}: identifier '{text}' must be one of: {}",
                            IdentifierType::CODES.join(", ")
                        ),
                        format!("第 {position} 个信息项的标识类型无效"),
                    ));
                }
                parsed
            }
        };
        if identifier.is_some() && data_type.is_some_and(|kind| kind != DataType::Text) {
            errors.push(item_error(
                "item_identifier_type",
                format!("{label}: an identifier item must be of data_type text"),
                format!("第 {position} 个信息项是标识，数据类型应为字符型"),
            ));
        }
        let classification = match self.classification.as_deref().map(str::trim) {
            None | Some("") => Some(Classification::Internal),
            Some(text) => {
                let parsed = Classification::parse(text);
                if parsed.is_none() {
                    errors.push(item_error(
                        "item_classification",
                        format!(
                            "{label}: classification '{text}' must be one of: {}",
                            Classification::CODES.join(", ")
                        ),
                        format!("第 {position} 个信息项的分级无效"),
                    ));
                }
                parsed
            }
        };
        if identifier == Some(IdentifierType::CitizenId) && !self.personal {
            errors.push(item_error(
                "item_personal",
                format!("{label}: an identity number is personal information; set personal"),
                format!("第 {position} 个信息项是公民身份号码，属于个人信息"),
            ));
        }
        if self.personal && classification == Some(Classification::Public) {
            errors.push(item_error(
                "item_personal_public",
                format!("{label}: personal information cannot be classified public"),
                format!("第 {position} 个信息项是个人信息，不能定为公开"),
            ));
        }
        let feeds = match self.feeds.as_deref().map(str::trim) {
            None | Some("") => {
                if self.authoritative {
                    errors.push(item_error(
                        "item_authoritative",
                        format!("{label}: authoritative needs the registry field it feeds (feeds)"),
                        format!("第 {position} 个信息项标为权威来源，但未指明对应的基础库字段"),
                    ));
                }
                None
            }
            Some(text) => match RegistryField::parse(text) {
                Some(field) => Some(Feed {
                    field,
                    authoritative: self.authoritative,
                }),
                None => {
                    errors.push(item_error(
                        "item_feeds",
                        format!(
                            "{label}: feeds '{text}' must be one of: {}",
                            RegistryField::CODES.join(", ")
                        ),
                        format!("第 {position} 个信息项对应的基础库字段无效"),
                    ));
                    None
                }
            },
        };
        if errors.len() > before {
            return None;
        }
        Some(InformationItem {
            name,
            title,
            data_type: data_type?,
            length,
            required: self.required,
            identifier,
            classification: classification?,
            personal: self.personal,
            feeds,
        })
    }
}

impl ResourceDraft {
    /// The resource, or every wrong field at once.
    pub fn validate(self) -> Result<Resource, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = ResourceCode::parse(&self.code)
            .map_err(|message| {
                errors.push(FieldError::new(
                    "code",
                    &self.code,
                    "resource_code",
                    message,
                    "信息资源代码应为“类项目细目/顺序码”，如 301001/000001",
                ))
            })
            .ok();
        let name = self.name.trim().to_owned();
        check_text(&mut errors, "name", &name, NAME_LIMIT);
        let summary = self.summary.trim().to_owned();
        check_text(&mut errors, "summary", &summary, SUMMARY_LIMIT);
        let provider = DepartmentId::parse(&self.provider)
            .map_err(|message| {
                errors.push(FieldError::new(
                    "provider",
                    &self.provider,
                    "department_id",
                    message,
                    "提供方应为部门标识",
                ))
            })
            .ok();
        let system = self
            .system
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned);
        let format = choice(
            &mut errors,
            "format",
            &self.format,
            ResourceFormat::parse,
            ResourceFormat::CODES,
        );
        let subject = choice(
            &mut errors,
            "subject",
            &self.subject,
            SubjectKind::parse,
            SubjectKind::CODES,
        );
        let sharing_kind = choice(
            &mut errors,
            "sharing",
            &self.sharing,
            SharingType::parse,
            SharingType::CODES,
        );
        let open = choice(
            &mut errors,
            "open",
            &self.open,
            OpenType::parse,
            OpenType::CODES,
        );
        let update_frequency = choice(
            &mut errors,
            "update_frequency",
            &self.update_frequency,
            UpdateFrequency::parse,
            UpdateFrequency::CODES,
        );
        if self.items.is_empty() {
            errors.push(FieldError::new(
                "items",
                "",
                "required",
                "a resource needs at least one information item",
                "信息资源至少应有一个信息项",
            ));
        } else if self.items.len() > ITEM_LIMIT {
            errors.push(FieldError::new(
                "items",
                &self.items.len().to_string(),
                "too_many",
                format!("a resource may have at most {ITEM_LIMIT} items"),
                format!("信息项最多 {ITEM_LIMIT} 个"),
            ));
        }
        let mut items = Vec::new();
        let mut names = BTreeSet::new();
        for (index, draft) in self.items.iter().enumerate() {
            if !names.insert(draft.name.trim()) {
                errors.push(FieldError::new(
                    "items",
                    &draft.name,
                    "item_duplicate",
                    format!(
                        "items[{}] '{}': another item has this name",
                        index + 1,
                        draft.name
                    ),
                    format!("第 {} 个信息项与前面的信息项重名", index + 1),
                ));
            }
            if let Some(item) = draft.validate(index + 1, &mut errors) {
                items.push(item);
            }
        }
        let mut fed = BTreeSet::new();
        for item in &items {
            if let Some(feed) = item.feeds
                && !fed.insert(feed.field)
            {
                errors.push(FieldError::new(
                    "items",
                    &item.name,
                    "feeds_duplicate",
                    format!(
                        "item '{}': another item already feeds {}",
                        item.name,
                        feed.field.code()
                    ),
                    format!("信息项“{}”对应的基础库字段已由其他信息项提供", item.title),
                ));
            }
        }
        let subject_item = self
            .subject_item
            .as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned);
        if let Some(subject) = subject {
            check_subject(
                subject,
                subject_item.as_deref(),
                &self.items,
                &items,
                &mut errors,
            );
        }
        let record_key: Vec<String> = self
            .record_key
            .iter()
            .map(|key| key.trim().to_owned())
            .collect();
        if record_key.is_empty() {
            errors.push(FieldError::new(
                "record_key",
                "",
                "required",
                "name the items whose values identify a record (record_key)",
                "应指明唯一标识一条记录的信息项（record_key）",
            ));
        }
        let mut seen_keys = BTreeSet::new();
        for key in &record_key {
            let known = self.items.iter().any(|draft| draft.name.trim() == key);
            if !known {
                errors.push(FieldError::new(
                    "record_key",
                    key,
                    "unknown_item",
                    format!("record_key names '{key}', which is not an item"),
                    format!("record_key 中的“{key}”不是信息项"),
                ));
            } else if !seen_keys.insert(key.as_str()) {
                errors.push(FieldError::new(
                    "record_key",
                    key,
                    "duplicate",
                    format!("record_key names '{key}' twice"),
                    format!("record_key 中“{key}”重复"),
                ));
            } else if let Some(item) = items.iter().find(|item| &item.name == key)
                && !item.required
            {
                errors.push(FieldError::new(
                    "record_key",
                    key,
                    "key_not_required",
                    format!("record key item '{key}' must be required"),
                    format!("记录键信息项“{key}”应为必填"),
                ));
            }
        }
        let terms = self.sharing_terms.trim().to_owned();
        let legal_basis = self.legal_basis.trim().to_owned();
        let sharing = sharing_kind.and_then(|kind| match kind {
            SharingType::Unconditional => Some(Sharing::Unconditional),
            SharingType::Conditional if terms.is_empty() => {
                errors.push(FieldError::new(
                    "sharing_terms",
                    "",
                    "required",
                    "a conditionally shared resource must state its conditions (sharing_terms)",
                    "有条件共享的信息资源应写明共享条件",
                ));
                None
            }
            SharingType::Conditional => Some(Sharing::Conditional {
                conditions: terms.clone(),
            }),
            SharingType::NotShared if terms.is_empty() => {
                errors.push(FieldError::new(
                    "sharing_terms",
                    "",
                    "required",
                    "a resource that is not shared must state why (sharing_terms)",
                    "不予共享的信息资源应写明理由",
                ));
                None
            }
            SharingType::NotShared => Some(Sharing::NotShared {
                reason: terms.clone(),
            }),
        });
        if sharing_kind.is_some_and(|kind| kind != SharingType::Unconditional)
            && legal_basis.is_empty()
        {
            errors.push(FieldError::new(
                "legal_basis",
                "",
                "required",
                "a conditional or refused sharing must cite its legal basis",
                "有条件共享或不予共享应注明依据",
            ));
        }
        if legal_basis.chars().count() > SUMMARY_LIMIT {
            errors.push(FieldError::new(
                "legal_basis",
                &legal_basis,
                "too_long",
                format!("legal_basis may have at most {SUMMARY_LIMIT} characters"),
                format!("共享依据最多 {SUMMARY_LIMIT} 个字符"),
            ));
        }
        let holds_sensitive = items.iter().any(|item| {
            item.personal
                || matches!(
                    item.classification,
                    Classification::Sensitive | Classification::Secret
                )
        });
        if open == Some(OpenType::Unconditional) && holds_sensitive {
            errors.push(FieldError::new(
                "open",
                &self.open,
                "open_personal",
                "a resource with personal, sensitive or secret items cannot be opened unconditionally",
                "含个人信息或敏感、秘密信息项的资源不能无条件开放",
            ));
        }
        if open.is_some_and(|open| open != OpenType::NotOpen)
            && sharing_kind == Some(SharingType::NotShared)
        {
            errors.push(FieldError::new(
                "open",
                &self.open,
                "open_not_shared",
                "a resource that is not shared between departments cannot be open to the public",
                "不予共享的资源不能向社会开放",
            ));
        }
        let keywords: Vec<String> = self
            .keywords
            .iter()
            .map(|keyword| keyword.trim().to_owned())
            .filter(|keyword| !keyword.is_empty())
            .collect();
        if let Some(long) = keywords.iter().find(|keyword| keyword.chars().count() > 32) {
            errors.push(FieldError::new(
                "keywords",
                long,
                "too_long",
                "each keyword may have at most 32 characters",
                "关键词最多 32 个字符",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let missing = || vec![FieldError::missing("resource")];
        Ok(Resource {
            code: code.ok_or_else(missing)?,
            name,
            summary,
            provider: provider.ok_or_else(missing)?,
            system,
            format: format.ok_or_else(missing)?,
            subject: subject.ok_or_else(missing)?,
            subject_item,
            record_key,
            items,
            sharing: sharing.ok_or_else(missing)?,
            legal_basis,
            open: open.ok_or_else(missing)?,
            update_frequency: update_frequency.ok_or_else(missing)?,
            keywords,
        })
    }
}

/// The subject item must exist, be required and hold the subject's identifier.
fn check_subject(
    subject: SubjectKind,
    subject_item: Option<&str>,
    drafts: &[ItemDraft],
    items: &[InformationItem],
    errors: &mut Vec<FieldError>,
) {
    let expected = match subject {
        SubjectKind::Person => Some(IdentifierType::CitizenId),
        SubjectKind::Entity => Some(IdentifierType::CreditCode),
        SubjectKind::House | SubjectKind::None => None,
    };
    match (subject, subject_item) {
        (SubjectKind::None, None) => {}
        (SubjectKind::None, Some(name)) => errors.push(FieldError::new(
            "subject_item",
            name,
            "subject_item_without_subject",
            "a resource about nobody in particular has no subject_item",
            "主体为“无”的资源不应指定主体信息项",
        )),
        (_, None) => errors.push(FieldError::new(
            "subject_item",
            "",
            "required",
            format!(
                "name the item that holds each record's {} (subject_item)",
                subject.code()
            ),
            format!("应指明记录主体（{}）所在的信息项", subject.label_zh()),
        )),
        (_, Some(name)) => {
            if !drafts.iter().any(|draft| draft.name.trim() == name) {
                errors.push(FieldError::new(
                    "subject_item",
                    name,
                    "unknown_item",
                    format!("subject_item names '{name}', which is not an item"),
                    format!("主体信息项“{name}”不存在"),
                ));
                return;
            }
            let Some(item) = items.iter().find(|item| item.name == name) else {
                return; // the item itself is wrong, and reported
            };
            if !item.required {
                errors.push(FieldError::new(
                    "subject_item",
                    name,
                    "subject_item_not_required",
                    format!("the subject item '{name}' must be required"),
                    format!("主体信息项“{name}”应为必填"),
                ));
            }
            if let Some(expected) = expected
                && item.identifier != Some(expected)
            {
                errors.push(FieldError::new(
                    "subject_item",
                    name,
                    "subject_item_identifier",
                    format!(
                        "the subject item '{name}' of a {} resource must hold identifier {}",
                        subject.code(),
                        expected.code()
                    ),
                    format!("主体信息项“{name}”应为{}", expected.label_zh()),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn item(name: &str, title: &str, data_type: &str) -> ItemDraft {
        ItemDraft {
            name: name.into(),
            title: title.into(),
            data_type: data_type.into(),
            length: Some(64),
            required: true,
            ..ItemDraft::default()
        }
    }

    /// The residence registrations of 公安, as the demo catalogues them.
    fn residence() -> ResourceDraft {
        ResourceDraft {
            code: "301001/000001".into(),
            name: "居住登记信息".into(),
            summary: "本市常住人口的居住地址登记".into(),
            provider: "gongan".into(),
            system: Some("人口管理信息系统".into()),
            format: "database".into(),
            subject: "person".into(),
            subject_item: Some("citizen_id".into()),
            record_key: vec!["citizen_id".into()],
            items: vec![
                ItemDraft {
                    identifier: Some("citizen_id".into()),
                    personal: true,
                    classification: Some("sensitive".into()),
                    length: Some(18),
                    ..item("citizen_id", "公民身份号码", "text")
                },
                ItemDraft {
                    personal: true,
                    feeds: Some("person.residence_address".into()),
                    authoritative: true,
                    ..item("residence_address", "居住地址", "字符型")
                },
                ItemDraft {
                    length: None,
                    ..item("registered_on", "登记日期", "date")
                },
            ],
            sharing: "有条件共享".into(),
            sharing_terms: "用于本市社会救助、政务服务的部门".into(),
            legal_basis: "《居住证暂行条例》".into(),
            open: "not_open".into(),
            update_frequency: "daily".into(),
            keywords: vec!["居住证".into()],
        }
    }

    /// Validates and renders every error (English and Chinese) one per line.
    fn check(draft: ResourceDraft, expected: Expect) {
        let rendered = match draft.validate() {
            Ok(resource) => format!(
                "ok {} {:?} {} items, key {:?}",
                resource.code,
                resource.sharing.kind(),
                resource.items.len(),
                resource.record_key
            ),
            Err(errors) => errors
                .iter()
                .map(|error| {
                    format!(
                        "{} [{}] {} | {}",
                        error.field, error.code, error.message, error.message_zh
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        };
        expected.assert_eq(&rendered);
    }

    #[test]
    fn a_well_formed_resource_is_accepted_with_defaults() {
        check(
            residence(),
            expect![[r#"ok 301001/000001 Conditional 3 items, key ["citizen_id"]"#]],
        );
        let resource = residence().validate().unwrap();
        let date = resource.item("registered_on").unwrap();
        assert_eq!(
            (date.length, date.classification),
            (10, Classification::Internal)
        );
        assert_eq!(
            resource.item("residence_address").unwrap().feeds,
            Some(Feed {
                field: RegistryField::PersonResidenceAddress,
                authoritative: true
            })
        );
        assert_eq!(resource.code.class(), ResourceClass::Departmental);
        assert!(resource.search_text("扬州市公安局").contains("居住地址"));
    }

    #[test]
    fn every_wrong_field_is_named_at_once() {
        let mut draft = residence();
        draft.code = "401001/1".into();
        draft.name = " ".into();
        draft.format = "paper".into();
        draft.sharing_terms = String::new();
        draft.legal_basis = String::new();
        draft.record_key = vec!["registered_on".into(), "nothing".into()];
        draft.items[2].required = false;
        check(
            draft,
            expect![[r#"
                code [resource_code] '401001/1': 类 (the first digit) must be 1 (basic), 2 (thematic) or 3 (departmental) | 信息资源代码应为“类项目细目/顺序码”，如 301001/000001
                name [required] name is required | name 为必填项
                format [not_one_of] format must be one of: database, spreadsheet, document, interface | format 应为以下之一：database、spreadsheet、document、interface
                record_key [key_not_required] record key item 'registered_on' must be required | 记录键信息项“registered_on”应为必填
                record_key [unknown_item] record_key names 'nothing', which is not an item | record_key 中的“nothing”不是信息项
                sharing_terms [required] a conditionally shared resource must state its conditions (sharing_terms) | 有条件共享的信息资源应写明共享条件
                legal_basis [required] a conditional or refused sharing must cite its legal basis | 有条件共享或不予共享应注明依据"#]],
        );
    }

    #[test]
    fn items_are_checked_one_by_one_with_their_position() {
        let mut draft = residence();
        draft.items[0].personal = false;
        draft.items[1].name = "Residence Address".into();
        draft.items[2].data_type = "blob".into();
        draft.items.push(ItemDraft {
            feeds: Some("person.shoe_size".into()),
            ..item("citizen_id", "重复", "text")
        });
        draft.items.push(ItemDraft {
            authoritative: true,
            personal: true,
            classification: Some("public".into()),
            length: Some(0),
            ..item("note", "备注", "text")
        });
        check(
            draft,
            expect![[r#"
                items [item_personal] items[1] 'citizen_id': an identity number is personal information; set personal | 第 1 个信息项是公民身份号码，属于个人信息
                items [item_name] items[2] 'Residence Address': the name must be 1–48 characters of a–z, 0–9 and '_', beginning with a letter | 第 2 个信息项的名称应为 1–48 位小写字母、数字或下划线，以字母开头
                items [item_data_type] items[3] 'registered_on': data_type 'blob' must be one of: text, integer, decimal, money, date, datetime, boolean | 第 3 个信息项的数据类型无效
                items [item_length] items[3] 'registered_on': length must be 1–65535 (a text item must state its length) | 第 3 个信息项的长度应为 1–65535
                items [item_duplicate] items[4] 'citizen_id': another item has this name | 第 4 个信息项与前面的信息项重名
                items [item_feeds] items[4] 'citizen_id': feeds 'person.shoe_size' must be one of: person.name, person.ethnicity, person.hukou_address, person.residence_address, person.phone, person.life_status, person.marital_status, person.education, person.disability, entity.name, entity.legal_representative, entity.registered_address, entity.status, house.owners, house.floor_area_m2 | 第 4 个信息项对应的基础库字段无效
                items [item_length] items[5] 'note': length must be 1–65535 (a text item must state its length) | 第 5 个信息项的长度应为 1–65535
                items [item_personal_public] items[5] 'note': personal information cannot be classified public | 第 5 个信息项是个人信息，不能定为公开
                items [item_authoritative] items[5] 'note': authoritative needs the registry field it feeds (feeds) | 第 5 个信息项标为权威来源，但未指明对应的基础库字段"#]],
        );
    }

    #[test]
    fn the_subject_item_must_hold_the_subjects_identifier() {
        let mut entity = residence();
        entity.subject = "entity".into();
        check(
            entity,
            expect![[
                r#"subject_item [subject_item_identifier] the subject item 'citizen_id' of a entity resource must hold identifier credit_code | 主体信息项“citizen_id”应为统一社会信用代码"#
            ]],
        );
        let mut nobody = residence();
        nobody.subject = "none".into();
        check(
            nobody,
            expect![[
                r#"subject_item [subject_item_without_subject] a resource about nobody in particular has no subject_item | 主体为“无”的资源不应指定主体信息项"#
            ]],
        );
        let mut unnamed = residence();
        unnamed.subject_item = None;
        check(
            unnamed,
            expect![[
                r#"subject_item [required] name the item that holds each record's person (subject_item) | 应指明记录主体（自然人）所在的信息项"#
            ]],
        );
    }

    #[test]
    fn open_and_sharing_types_must_agree_with_the_items() {
        let mut open = residence();
        open.open = "无条件开放".into();
        check(
            open,
            expect![[
                r#"open [open_personal] a resource with personal, sensitive or secret items cannot be opened unconditionally | 含个人信息或敏感、秘密信息项的资源不能无条件开放"#
            ]],
        );
        let mut refused = residence();
        refused.sharing = "not_shared".into();
        refused.open = "conditional".into();
        check(
            refused,
            expect![[
                r#"open [open_not_shared] a resource that is not shared between departments cannot be open to the public | 不予共享的资源不能向社会开放"#
            ]],
        );
        let mut unconditional = residence();
        unconditional.sharing = "unconditional".into();
        unconditional.legal_basis = String::new();
        check(
            unconditional,
            expect![[r#"ok 301001/000001 Unconditional 3 items, key ["citizen_id"]"#]],
        );
    }

    #[test]
    fn resource_codes_follow_the_guide() {
        for good in ["301001/000001", "1010010010/1", "201001001001/0000000001"] {
            assert!(ResourceCode::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "301001",
            "30100/1",
            "301001/",
            "3010a1/1",
            "001001/1",
            "301001/12345678901",
            "3010010010010/1",
        ] {
            assert!(ResourceCode::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ResourceCode::parse("101001/1").unwrap().class(),
            ResourceClass::Basic
        );
    }

    #[test]
    fn departments_need_an_id_a_name_and_a_valid_credit_code() {
        let department = DepartmentDraft {
            id: "gongan".into(),
            name: "扬州市公安局".into(),
            credit_code: "11321000014050316T".into(),
            systems: vec!["人口管理信息系统".into(), "人口管理信息系统".into()],
        };
        let mut wrong = department.clone();
        wrong.id = "公安".into();
        wrong.credit_code = "11321000014050316X".into();
        let errors = wrong.validate().unwrap_err();
        assert_eq!(
            errors
                .iter()
                .map(|error| (error.field, error.code))
                .collect::<Vec<_>>(),
            [("id", "department_id"), ("credit_code", errors[1].code)]
        );
        assert!(errors[1].code.contains("check"), "{:?}", errors[1]);
        match department.validate() {
            Ok(valid) => assert_eq!(valid.systems, ["人口管理信息系统"]),
            Err(errors) => panic!("{errors:?}"),
        }
    }
}
