//! The twelve synthetic departments' datasets (issue 4, item 8): one file per catalogued
//! resource (`data/catalogue.toml`), consistent with the generated population, houses
//! and entities, with controlled noise whose every instance is counted in the
//! [`DatasetTruth`], so a test can check that ingestion reports exactly it.
//!
//! Amounts and dates are realistic for 扬州 in 2026: social-insurance bases between the
//! province's floor and ceiling, pensions, provident-fund deposits of 5–12 % each side,
//! vehicle prices, individual income tax by the annual comprehensive-income table, bank
//! balances skewed like real savings. The noise: identity numbers left out or with a wrong
//! check character, contact addresses that differ from the residence registry (which
//! become disputes), and two files written in GBK.

use crate::City;
use crate::generator::{Generator, Stage};
use chrono::{Datelike, Months, NaiveDate};
use huimin_domain::identifiers::CitizenId;
use huimin_domain::registry::{EntityKind, HouseUse, LifeStatus, Person, PersonTag, Relationship};
use huimin_domain::time::age_on;
use std::collections::HashMap;

/// One department's file of one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct DepartmentFile {
    /// The catalogued resource, e.g. `301004/000001`.
    pub resource: &'static str,
    /// A file name, e.g. `renshe-contributions.csv`.
    pub name: &'static str,
    /// Written in GBK (as some departments' systems still export) rather than UTF-8.
    pub gbk: bool,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
    pub truth: DatasetTruth,
}

/// What ingesting the file must report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatasetTruth {
    /// Rows a check refuses: an identity number missing or with a wrong check character.
    pub rejected: u64,
    /// Persons whose contact address differs from the residence registry: one dispute
    /// each for the authoritative department.
    pub disputes: u64,
}

/// The social-insurance contribution base of 江苏 for 2026 (yuan a month), floor and
/// ceiling, rounded.
const BASE_FLOOR: f64 = 4_494.0;
const BASE_CEILING: f64 = 24_042.0;
/// Months of contributions, deposits and pensions each file holds, ending with the month
/// before the city's day.
const MONTHS: u32 = 6;

struct Noise {
    rejected: u64,
}

impl Noise {
    /// The identity number as a department wrote it: usually right, sometimes left out,
    /// sometimes with a wrong check character; each slip counted.
    fn citizen_id(
        &mut self,
        generator: &mut Generator,
        id: &CitizenId,
        missing: f64,
        wrong: f64,
    ) -> String {
        if generator.chance(missing) {
            self.rejected += 1;
            return String::new();
        }
        if generator.chance(wrong) {
            self.rejected += 1;
            let text = id.as_str();
            let check = text.chars().last().unwrap_or('0');
            let other = if check == '7' { '8' } else { '7' };
            return format!("{}{other}", &text[..17]);
        }
        id.as_str().to_owned()
    }
}

fn money(value: f64) -> String {
    format!("{:.2}", (value * 100.0).round() / 100.0)
}

fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The first day of each of the `MONTHS` months before `today`'s, oldest first.
fn months(today: NaiveDate) -> Vec<NaiveDate> {
    let this_month = today.with_day(1).unwrap_or(today);
    (1..=MONTHS)
        .rev()
        .filter_map(|back| this_month.checked_sub_months(Months::new(back)))
        .collect()
}

/// A salary base drawn log-normally around 7,000 yuan, inside the floor and ceiling.
fn salary_base(generator: &mut Generator) -> f64 {
    let normal: f64 = (0..6).map(|_| generator.real(-1.0, 1.0)).sum::<f64>() / 2.0;
    (7_000.0 * (normal * 0.45).exp())
        .clamp(BASE_FLOOR, BASE_CEILING)
        .round()
}

/// Individual income tax on a year's comprehensive income (综合所得), after the 60,000
/// yuan deduction and 3,000 a month of special deductions, by the annual table.
fn income_tax(income: f64) -> f64 {
    let taxable = (income - 60_000.0 - 36_000.0).max(0.0);
    let brackets = [
        (36_000.0, 0.03, 0.0),
        (144_000.0, 0.10, 2_520.0),
        (300_000.0, 0.20, 16_920.0),
        (420_000.0, 0.25, 31_920.0),
        (660_000.0, 0.30, 52_920.0),
        (960_000.0, 0.35, 85_920.0),
        (f64::INFINITY, 0.45, 181_920.0),
    ];
    let (_, rate, quick) = brackets
        .iter()
        .find(|(upper, _, _)| taxable <= *upper)
        .copied()
        .unwrap_or((0.0, 0.0, 0.0));
    (taxable * rate - quick).max(0.0)
}

fn life_status_zh(status: LifeStatus) -> &'static str {
    match status {
        LifeStatus::Alive => "正常",
        LifeStatus::Deceased => "死亡",
        LifeStatus::Emigrated => "迁出",
    }
}

/// Who works where: the working-age living people, each with an employer.
fn employment<'a>(city: &'a City, generator: &mut Generator) -> Vec<(&'a Person, usize)> {
    let employers: Vec<usize> = city
        .entities
        .iter()
        .enumerate()
        .filter(|(_, entity)| {
            matches!(
                entity.kind,
                EntityKind::Enterprise | EntityKind::Institution
            )
        })
        .map(|(index, _)| index)
        .collect();
    if employers.is_empty() {
        return Vec::new();
    }
    let mut workers = Vec::new();
    for person in city
        .persons
        .iter()
        .filter(|person| person.life_status == LifeStatus::Alive)
        .filter(|person| (20..60).contains(&age_on(person.birth_date(), city.today)))
    {
        if generator.chance(0.72) {
            workers.push((person, *generator.pick(&employers)));
        }
    }
    workers
}

/// The `n`-th plate of 扬州 (苏K): five places of digits and letters without I and O,
/// distinct for the first 45 million vehicles.
fn plate(n: usize) -> String {
    const PLACES: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rest = n;
    let mut places = [b'0'; 5];
    for place in places.iter_mut().rev() {
        *place = PLACES[rest % PLACES.len()];
        rest /= PLACES.len();
    }
    format!("苏K{}", String::from_utf8_lossy(&places))
}

/// Every department's files for `city`, from the seed's own stream.
pub fn department_files(city: &City, seed: u64) -> Vec<DepartmentFile> {
    let today = city.today;
    let mut generator = Generator::for_stage(seed, Stage::Departments, today);
    let generator = &mut generator;
    let living: Vec<&Person> = city
        .persons
        .iter()
        .filter(|person| person.life_status == LifeStatus::Alive)
        .collect();
    let household_of: HashMap<&str, &str> = city
        .households
        .iter()
        .flat_map(|household| {
            household
                .members
                .iter()
                .map(move |member| (member.citizen_id.as_str(), household.number.as_str()))
        })
        .collect();
    let addresses: Vec<String> = city
        .houses
        .iter()
        .filter(|house| house.usage == HouseUse::Residential)
        .map(|house| house.address.line())
        .collect();
    let workers = employment(city, generator);
    let months = months(today);
    let mut files = Vec::new();

    // 公安: the population base and residence registrations.
    files.push(DepartmentFile {
        resource: "101001/000001",
        name: "gongan-population.csv",
        gbk: false,
        header: vec![
            "citizen_id",
            "name",
            "ethnicity",
            "hukou_address",
            "household_number",
            "life_status",
        ],
        rows: city
            .persons
            .iter()
            .map(|person| {
                vec![
                    person.citizen_id.as_str().to_owned(),
                    person.name.as_str().to_owned(),
                    person.ethnicity.name().to_owned(),
                    person.hukou_address.clone(),
                    household_of
                        .get(person.citizen_id.as_str())
                        .map_or_else(String::new, |n| (*n).to_owned()),
                    life_status_zh(person.life_status).to_owned(),
                ]
            })
            .collect(),
        truth: DatasetTruth::default(),
    });
    files.push(DepartmentFile {
        resource: "301001/000001",
        name: "gongan-residence.csv",
        gbk: false,
        header: vec!["citizen_id", "residence_address", "registered_on"],
        rows: living
            .iter()
            .map(|person| {
                let years = generator.integer(0, 15);
                let registered = today
                    .checked_sub_months(Months::new(years * 12 + generator.integer(1, 11)))
                    .unwrap_or(today)
                    .max(person.birth_date());
                vec![
                    person.citizen_id.as_str().to_owned(),
                    person.residence_address.clone(),
                    date(registered),
                ]
            })
            .collect(),
        truth: DatasetTruth::default(),
    });

    // 人社: contributions with the salary base, and pensions.
    let mut noise = Noise { rejected: 0 };
    let mut disputes = 0;
    let mut contributions = Vec::new();
    let mut salaries: Vec<(&Person, usize, f64)> = Vec::new();
    for (person, employer) in &workers {
        let base = salary_base(generator);
        salaries.push((person, *employer, base));
        let contact = if generator.chance(0.03) {
            disputes += 1;
            let mut other = generator.pick(&addresses).clone();
            if other == person.residence_address {
                other.push_str("（单位宿舍）");
            }
            other
        } else if generator.chance(0.1) {
            // The same address typed with full-width digits: not a disagreement.
            person
                .residence_address
                .chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        char::from_u32(u32::from(c) + 0xFEE0).unwrap_or(c)
                    } else {
                        c
                    }
                })
                .collect()
        } else {
            person.residence_address.clone()
        };
        let phone = person
            .phone
            .as_ref()
            .map_or_else(String::new, |phone| phone.as_str().to_owned());
        for month in &months {
            contributions.push(vec![
                noise.citizen_id(generator, &person.citizen_id, 0.002, 0.003),
                city.entities[*employer].credit_code.as_str().to_owned(),
                "养老保险".to_owned(),
                date(*month),
                money(base),
                money(base * 0.08),
                contact.clone(),
                phone.clone(),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "301004/000001",
        name: "renshe-contributions.csv",
        gbk: false,
        header: vec![
            "citizen_id",
            "employer_credit_code",
            "insurance_type",
            "month",
            "salary_base",
            "contribution",
            "contact_address",
            "phone",
        ],
        rows: contributions,
        truth: DatasetTruth {
            rejected: noise.rejected,
            disputes,
        },
    });
    let mut pensions = Vec::new();
    for person in living
        .iter()
        .filter(|person| age_on(person.birth_date(), today) >= 60)
    {
        let amount = generator.real(1_600.0, 5_800.0).round();
        for month in &months {
            pensions.push(vec![
                person.citizen_id.as_str().to_owned(),
                date(*month),
                money(amount),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "301004/000002",
        name: "renshe-pensions.csv",
        gbk: false,
        header: vec!["citizen_id", "month", "amount"],
        rows: pensions,
        truth: DatasetTruth::default(),
    });

    // 公积金: deposits, exported in GBK.
    let mut deposits = Vec::new();
    for (index, (person, employer, base)) in salaries.iter().enumerate() {
        if !generator.chance(0.6) {
            continue;
        }
        let rate = f64::from(generator.integer(5, 12)) / 100.0;
        let monthly = (base * rate).round() * 2.0;
        let mut balance = monthly * f64::from(generator.integer(6, 120));
        for month in &months {
            balance += monthly;
            deposits.push(vec![
                format!("3210{:010}", index + 1),
                person.citizen_id.as_str().to_owned(),
                city.entities[*employer].credit_code.as_str().to_owned(),
                date(*month),
                money(*base),
                money(monthly),
                money(balance),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "301005/000001",
        name: "gongjijin-deposits.csv",
        gbk: true,
        header: vec![
            "account_number",
            "citizen_id",
            "employer_credit_code",
            "month",
            "deposit_base",
            "monthly_deposit",
            "balance",
        ],
        rows: deposits,
        truth: DatasetTruth::default(),
    });

    // 税务: last year's individual income tax, exported in GBK.
    let year = today.year() - 1;
    files.push(DepartmentFile {
        resource: "301008/000001",
        name: "shuiwu-income-tax.csv",
        gbk: true,
        header: vec![
            "citizen_id",
            "tax_year",
            "withholding_agent",
            "income",
            "tax_paid",
        ],
        rows: salaries
            .iter()
            .map(|(person, employer, base)| {
                let income = base * 12.0 * generator.real(1.0, 1.3);
                vec![
                    person.citizen_id.as_str().to_owned(),
                    year.to_string(),
                    city.entities[*employer].credit_code.as_str().to_owned(),
                    money(income),
                    money(income_tax(income)),
                ]
            })
            .collect(),
        truth: DatasetTruth::default(),
    });

    // 不动产登记: every owner's share of every owned house.
    let mut rights = Vec::new();
    for (index, house) in city.houses.iter().enumerate() {
        let owners = house.owners.len();
        let registered = today
            .checked_sub_months(Months::new(generator.integer(6, 240)))
            .unwrap_or(today);
        for owner in &house.owners {
            rights.push(vec![
                format!(
                    "苏({})扬州市不动产权第{:07}号",
                    registered.year(),
                    index + 1
                ),
                owner.as_str().to_owned(),
                house.id.clone(),
                house.address.line(),
                format!("{:.2}", house.floor_area_m2),
                format!("{:.4}", 1.0 / owners as f64),
                date(registered),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "301006/000001",
        name: "budongchan-rights.csv",
        gbk: false,
        header: vec![
            "certificate_number",
            "citizen_id",
            "house_id",
            "location",
            "floor_area_m2",
            "share",
            "registered_on",
        ],
        rows: rights,
        truth: DatasetTruth::default(),
    });

    // 车管: about one car to every three households, bought in the last fifteen years.
    let brands = [
        "大众朗逸",
        "丰田卡罗拉",
        "比亚迪秦PLUS",
        "本田雅阁",
        "吉利帝豪",
        "特斯拉Model 3",
        "宝马3系",
        "五菱宏光MINI",
    ];
    let mut vehicles = Vec::new();
    for household in &city.households {
        if !generator.chance(0.35) {
            continue;
        }
        let Some(head) = household.members.first() else {
            continue;
        };
        let bought = today
            .checked_sub_months(Months::new(generator.integer(1, 180)))
            .unwrap_or(today);
        let price = generator.real(45_000.0, 420_000.0).round();
        vehicles.push(vec![
            plate(vehicles.len()),
            head.citizen_id.as_str().to_owned(),
            if generator.chance(0.8) {
                "小型轿车"
            } else {
                "小型越野客车"
            }
            .to_owned(),
            (*generator.pick(&brands)).to_owned(),
            date(bought),
            money(price),
            "正常".to_owned(),
        ]);
    }
    files.push(DepartmentFile {
        resource: "301002/000001",
        name: "cheguan-vehicles.csv",
        gbk: false,
        header: vec![
            "plate_number",
            "owner_citizen_id",
            "vehicle_type",
            "brand",
            "registered_on",
            "purchase_price",
            "status",
        ],
        rows: vehicles,
        truth: DatasetTruth::default(),
    });

    // 民政: marriages of the households' heads and spouses, and assistance recipients.
    let mut marriages = Vec::new();
    let mut assistance = Vec::new();
    let mut assistance_noise = Noise { rejected: 0 };
    for household in &city.households {
        let head = household
            .members
            .iter()
            .find(|member| member.relationship == Relationship::Head);
        let spouse = household
            .members
            .iter()
            .find(|member| member.relationship == Relationship::Spouse);
        if let (Some(head), Some(spouse)) = (head, spouse) {
            let youngest = head
                .citizen_id
                .birth_date()
                .max(spouse.citizen_id.birth_date());
            let married = youngest
                .checked_add_months(Months::new(12 * generator.integer(22, 30)))
                .unwrap_or(today)
                .min(today);
            let number = format!("J321000-{}-{:06}", married.year(), marriages.len() / 2 + 1);
            for (one, other) in [(head, spouse), (spouse, head)] {
                marriages.push(vec![
                    number.clone(),
                    one.citizen_id.as_str().to_owned(),
                    other.citizen_id.as_str().to_owned(),
                    "结婚登记".to_owned(),
                    date(married),
                    "已婚".to_owned(),
                ]);
            }
        }
        if let Some(head) = head
            && generator.chance(0.02)
        {
            let members = household.members.len() as f64;
            assistance.push(vec![
                assistance_noise.citizen_id(generator, &head.citizen_id, 0.02, 0.0),
                "最低生活保障".to_owned(),
                date(
                    today
                        .checked_sub_months(Months::new(generator.integer(2, 60)))
                        .unwrap_or(today),
                ),
                money(830.0 * members),
                "在保".to_owned(),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "301003/000001",
        name: "minzheng-marriages.csv",
        gbk: false,
        header: vec![
            "registration_number",
            "citizen_id",
            "spouse_citizen_id",
            "kind",
            "registered_on",
            "marital_status",
        ],
        rows: marriages,
        truth: DatasetTruth::default(),
    });
    files.push(DepartmentFile {
        resource: "301003/000002",
        name: "minzheng-assistance.csv",
        gbk: false,
        header: vec![
            "citizen_id",
            "assistance_type",
            "started_on",
            "monthly_amount",
            "status",
        ],
        rows: assistance,
        truth: DatasetTruth {
            rejected: assistance_noise.rejected,
            disputes: 0,
        },
    });

    // 市场监管: the legal-entity base and shareholders.
    let mut shareholders = Vec::new();
    for entity in city
        .entities
        .iter()
        .filter(|entity| entity.kind == EntityKind::Enterprise)
    {
        let capital = f64::from(generator.integer(10, 2_000));
        let partner = generator.pick(&living);
        let ratio = f64::from(generator.integer(51, 100)) / 100.0;
        shareholders.push(vec![
            entity.credit_code.as_str().to_owned(),
            entity.legal_representative.as_str().to_owned(),
            money(capital * ratio),
            format!("{ratio:.4}"),
        ]);
        if ratio < 1.0 && partner.citizen_id != entity.legal_representative {
            shareholders.push(vec![
                entity.credit_code.as_str().to_owned(),
                partner.citizen_id.as_str().to_owned(),
                money(capital * (1.0 - ratio)),
                format!("{:.4}", 1.0 - ratio),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "101002/000001",
        name: "shichang-entities.csv",
        gbk: false,
        header: vec![
            "credit_code",
            "name",
            "kind",
            "legal_representative",
            "registered_address",
            "status",
            "established_on",
        ],
        rows: city
            .entities
            .iter()
            .map(|entity| {
                vec![
                    entity.credit_code.as_str().to_owned(),
                    entity.name.clone(),
                    entity.kind.label_zh().to_owned(),
                    entity.legal_representative.as_str().to_owned(),
                    entity.registered_address.clone(),
                    entity.status.label_zh().to_owned(),
                    entity.established_on.map(date).unwrap_or_default(),
                ]
            })
            .collect(),
        truth: DatasetTruth::default(),
    });
    files.push(DepartmentFile {
        resource: "301007/000001",
        name: "shichang-shareholders.csv",
        gbk: false,
        header: vec![
            "credit_code",
            "shareholder_citizen_id",
            "subscribed_capital",
            "share_ratio",
        ],
        rows: shareholders,
        truth: DatasetTruth::default(),
    });

    // 卫健: births (the youngest children, with their parents) and deaths.
    let mut births = Vec::new();
    for household in &city.households {
        let parents: Vec<&CitizenId> = household
            .members
            .iter()
            .filter(|member| {
                matches!(
                    member.relationship,
                    Relationship::Head | Relationship::Spouse
                )
            })
            .map(|member| &member.citizen_id)
            .collect();
        let mother = parents
            .iter()
            .find(|id| id.sex() == huimin_domain::identifiers::Sex::Female);
        let father = parents
            .iter()
            .find(|id| id.sex() == huimin_domain::identifiers::Sex::Male);
        let Some(mother) = mother else { continue };
        for member in household.members.iter().filter(|member| {
            matches!(
                member.relationship,
                Relationship::Son | Relationship::Daughter
            )
        }) {
            let born = member.citizen_id.birth_date();
            if age_on(born, today) > 3 {
                continue;
            }
            let Some(child) = city
                .persons
                .iter()
                .find(|person| person.citizen_id == member.citizen_id)
            else {
                continue;
            };
            births.push(vec![
                format!("Q321{:07}", births.len() + 1),
                child.name.as_str().to_owned(),
                date(born),
                if member.citizen_id.sex() == huimin_domain::identifiers::Sex::Female {
                    "女"
                } else {
                    "男"
                }
                .to_owned(),
                mother.as_str().to_owned(),
                father.map_or_else(String::new, |id| id.as_str().to_owned()),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "301009/000001",
        name: "weijian-births.csv",
        gbk: false,
        header: vec![
            "certificate_number",
            "child_name",
            "birth_date",
            "sex",
            "mother_citizen_id",
            "father_citizen_id",
        ],
        rows: births,
        truth: DatasetTruth::default(),
    });
    files.push(DepartmentFile {
        resource: "301009/000002",
        name: "weijian-deaths.csv",
        gbk: false,
        header: vec!["certificate_number", "citizen_id", "death_date"],
        rows: city
            .persons
            .iter()
            .filter(|person| person.life_status == LifeStatus::Deceased)
            .enumerate()
            .map(|(index, person)| {
                let died = today
                    .checked_sub_days(chrono::Days::new(u64::from(generator.integer(1, 1_000))))
                    .unwrap_or(today)
                    .max(person.birth_date());
                vec![
                    format!("S321{:07}", index + 1),
                    person.citizen_id.as_str().to_owned(),
                    date(died),
                ]
            })
            .collect(),
        truth: DatasetTruth::default(),
    });

    // 教育: the highest education of adults under 60.
    let schools = [
        ("本科", "扬州大学"),
        ("大专", "扬州市职业大学"),
        ("硕士研究生", "南京大学"),
        ("本科", "南京师范大学"),
        ("大专", "江苏旅游职业学院"),
    ];
    let mut education = Vec::new();
    for person in living
        .iter()
        .filter(|person| (22..60).contains(&age_on(person.birth_date(), today)))
    {
        if !generator.chance(0.45) {
            continue;
        }
        let (level, school) = *generator.pick(&schools);
        let years = if level == "大专" {
            21
        } else if level == "本科" {
            22
        } else {
            25
        };
        let graduated = NaiveDate::from_ymd_opt(person.birth_date().year() + years, 6, 30)
            .unwrap_or(today)
            .min(today);
        education.push(vec![
            person.citizen_id.as_str().to_owned(),
            level.to_owned(),
            school.to_owned(),
            date(graduated),
        ]);
    }
    files.push(DepartmentFile {
        resource: "301010/000001",
        name: "jiaoyu-education.csv",
        gbk: false,
        header: vec!["citizen_id", "education_level", "school", "graduated_on"],
        rows: education,
        truth: DatasetTruth::default(),
    });

    // 残联: a certificate for each person the registry tags as disabled.
    let categories = ["1", "2", "3", "4", "5", "6", "7"];
    let labels = [
        "视力残疾",
        "听力残疾",
        "言语残疾",
        "肢体残疾",
        "智力残疾",
        "精神残疾",
        "多重残疾",
    ];
    let grades = ["一级", "二级", "三级", "四级"];
    let mut disability = Vec::new();
    for person in living
        .iter()
        .filter(|person| person.tags.contains(&PersonTag::Disability))
    {
        let category = generator.index(categories.len());
        let grade = generator.index(grades.len());
        let issued = today
            .checked_sub_months(Months::new(generator.integer(1, 110)))
            .unwrap_or(today);
        disability.push(vec![
            format!(
                "{}{}{}",
                person.citizen_id.as_str(),
                categories[category],
                grade + 1
            ),
            person.citizen_id.as_str().to_owned(),
            labels[category].to_owned(),
            grades[grade].to_owned(),
            date(issued),
            date(
                issued
                    .checked_add_months(Months::new(120))
                    .unwrap_or(issued),
            ),
        ]);
    }
    files.push(DepartmentFile {
        resource: "301011/000001",
        name: "canlian-disability.csv",
        gbk: false,
        header: vec![
            "certificate_number",
            "citizen_id",
            "category",
            "grade",
            "issued_on",
            "valid_until",
        ],
        rows: disability,
        truth: DatasetTruth::default(),
    });

    // Banks, through 民政's checking channel: adults' deposits.
    let banks = [
        "中国工商银行扬州分行",
        "中国建设银行扬州分行",
        "中国农业银行扬州分行",
        "江苏银行扬州分行",
        "扬州农村商业银行",
    ];
    let as_of = date(today.with_day(1).unwrap_or(today));
    let mut deposits = Vec::new();
    for person in living
        .iter()
        .filter(|person| age_on(person.birth_date(), today) >= 18)
    {
        let accounts = if generator.chance(0.35) { 2 } else { 1 };
        let mut used = Vec::new();
        for _ in 0..accounts {
            let bank = *generator.pick(&banks);
            let kind = if generator.chance(0.6) {
                "活期"
            } else {
                "定期"
            };
            if used.contains(&(bank, kind)) {
                continue;
            }
            used.push((bank, kind));
            let normal: f64 = (0..6).map(|_| generator.real(-1.0, 1.0)).sum::<f64>() / 2.0;
            let balance = (30_000.0 * (normal * 1.1).exp()).round();
            deposits.push(vec![
                person.citizen_id.as_str().to_owned(),
                bank.to_owned(),
                kind.to_owned(),
                money(balance),
                as_of.clone(),
            ]);
        }
    }
    files.push(DepartmentFile {
        resource: "301012/000001",
        name: "banks-deposits.csv",
        gbk: false,
        header: vec!["citizen_id", "bank", "account_kind", "balance", "as_of"],
        rows: deposits,
        truth: DatasetTruth::default(),
    });
    files
}

/// A file's rows as CSV text (RFC 4180 quoting), header first. A GBK file's header is
/// the items' Chinese titles (信息项名称), as such systems export them; the others use
/// the item names.
pub fn csv_text(file: &DepartmentFile) -> String {
    let quote = |field: &str| {
        if field.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_owned()
        }
    };
    let titles: Vec<String> = if file.gbk {
        let catalogue = crate::catalogue();
        let resource = catalogue
            .resources
            .iter()
            .find(|resource| resource.code == file.resource);
        file.header
            .iter()
            .map(|name| {
                resource
                    .and_then(|resource| resource.items.iter().find(|item| item.name == *name))
                    .map_or_else(|| (*name).to_owned(), |item| item.title.clone())
            })
            .collect()
    } else {
        file.header.iter().map(|name| (*name).to_owned()).collect()
    };
    let mut text = titles.join(",");
    text.push('\n');
    for row in &file.rows {
        let fields: Vec<String> = row.iter().map(|field| quote(field)).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn income_tax_follows_the_annual_table() {
        assert_eq!(income_tax(90_000.0), 0.0);
        // 120,000 − 96,000 = 24,000 taxable at 3 %.
        assert!((income_tax(120_000.0) - 720.0).abs() < 1e-6);
        // 300,000 − 96,000 = 204,000 at 20 % − 16,920.
        assert!((income_tax(300_000.0) - 23_880.0).abs() < 1e-6);
    }

    #[test]
    fn months_end_before_the_citys_month() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let months = months(today);
        assert_eq!(months.len(), 6);
        assert_eq!(months[0], NaiveDate::from_ymd_opt(2026, 5, 1).unwrap());
        assert_eq!(months[5], NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let file = DepartmentFile {
            resource: "301001/000001",
            name: "x.csv",
            gbk: false,
            header: vec!["a", "b"],
            rows: vec![vec!["扬州市, 广陵区".into(), "说\"是\"".into()]],
            truth: DatasetTruth::default(),
        };
        assert_eq!(
            csv_text(&file),
            "a,b\n\"扬州市, 广陵区\",\"说\"\"是\"\"\"\n"
        );
    }
}
