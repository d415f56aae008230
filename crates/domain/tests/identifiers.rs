//! Tests of the national identifiers against examples published with the
//! standards, real-world samples, every error variant, and properties (round
//! trips, single-substitution detection, no panics on any input).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failing test should panic

use chrono::{Days, NaiveDate};
use huimin_domain::identifiers::*;
use proptest::prelude::*;

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("valid test date")
}

// ---------------------------------------------------------------------------
// CitizenId (GB 11643-1999)
// ---------------------------------------------------------------------------

#[test]
fn citizen_id_standard_example_is_a_woman_born_1949_12_31() {
    // The example printed in GB 11643-1999.
    let citizen_id = CitizenId::parse("11010519491231002X").unwrap();
    assert_eq!(citizen_id.as_str(), "11010519491231002X");
    assert_eq!(citizen_id.birth_date(), date(1949, 12, 31));
    assert_eq!(citizen_id.sex(), Sex::Female);
    assert_eq!(citizen_id.sequence(), 2);
    assert_eq!(citizen_id.check_character(), 'X');
    assert_eq!(citizen_id.area_code().as_str(), "110105");
    assert_eq!(citizen_id.area_code().full_name(), "北京市朝阳区");
    assert_eq!(citizen_id.key(), 11010519491231002);
}

#[test]
fn citizen_id_keys_tell_numbers_apart_exactly_as_the_numbers_do() {
    let woman = CitizenId::parse("11010519491231002X").unwrap();
    let lower_case_x = CitizenId::parse("11010519491231002x").unwrap();
    let other = CitizenId::parse("440524188001010014").unwrap();
    assert_eq!(woman.key(), lower_case_x.key());
    assert_ne!(woman.key(), other.key());
}

#[test]
fn citizen_id_widely_published_sample_from_an_abolished_county() {
    // 440524 潮阳县 was abolished in 1993; numbers keep their area code.
    let citizen_id = CitizenId::parse("440524188001010014").unwrap();
    assert_eq!(citizen_id.birth_date(), date(1880, 1, 1));
    assert_eq!(citizen_id.sex(), Sex::Male);
    assert_eq!(citizen_id.area_code().name(), "潮阳县");
    assert!(!citizen_id.area_code().is_current());
}

#[test]
fn citizen_id_lower_case_x_is_normalised_and_whitespace_trimmed() {
    let citizen_id = CitizenId::parse("  11010519491231002x\n").unwrap();
    assert_eq!(citizen_id.as_str(), "11010519491231002X");
    assert_eq!(citizen_id.to_string(), "11010519491231002X");
}

#[test]
fn citizen_id_legacy_fifteen_digit_number_is_upgraded() {
    let upgraded = CitizenId::upgrade_legacy("110105491231002").unwrap();
    assert_eq!(upgraded.as_str(), "11010519491231002X");
    assert_eq!(upgraded, CitizenId::parse("11010519491231002X").unwrap());
    assert_eq!(upgraded.birth_date(), date(1949, 12, 31));
}

#[test]
fn citizen_id_legacy_errors_name_positions_of_the_fifteen_digit_form() {
    let error = CitizenId::upgrade_legacy("110105490231002").unwrap_err();
    assert_eq!(
        error,
        IdentifierError::InvalidBirthDate {
            start: 7,
            end: 12,
            text: "490231".into()
        }
    );
    let error = CitizenId::upgrade_legacy("11010549123100X").unwrap_err();
    assert_eq!(error.code(), "citizen_id_invalid_character");
    let error = CitizenId::upgrade_legacy("11010519491231002X").unwrap_err();
    assert_eq!(error.code(), "citizen_id_wrong_length");
}

#[test]
fn citizen_id_parse_as_of_rejects_birth_after_today() {
    let today = date(2024, 6, 1);
    let born_tomorrow =
        CitizenId::from_parts(&AreaCode::parse("110101").unwrap(), date(2024, 6, 2), 1).unwrap();
    // Time-independent parse accepts it (a stored value must stay valid)…
    assert!(CitizenId::parse(born_tomorrow.as_str()).is_ok());
    // …the as-of parse does not.
    let error = CitizenId::parse_as_of(born_tomorrow.as_str(), today).unwrap_err();
    assert_eq!(
        error,
        IdentifierError::BirthDateInFuture {
            date: date(2024, 6, 2),
            today
        }
    );
    assert_eq!(error.code(), "citizen_id_birth_date_in_future");
    assert_eq!(
        error.to_string(),
        "citizen identity number: birth date 2024-06-02 is after today (2024-06-01)"
    );
    assert_eq!(
        error.message_zh(),
        "公民身份号码的出生日期2024-06-02晚于今天（2024-06-01）"
    );
    // Born today is fine.
    assert!(CitizenId::parse_as_of("11010519491231002X", date(1949, 12, 31)).is_ok());
}

#[test]
fn citizen_id_from_parts_computes_the_check_character() {
    let area = AreaCode::parse("110105").unwrap();
    let citizen_id = CitizenId::from_parts(&area, date(1949, 12, 31), 2).unwrap();
    assert_eq!(citizen_id.as_str(), "11010519491231002X");
    let too_big = CitizenId::from_parts(&area, date(1949, 12, 31), 1000).unwrap_err();
    assert_eq!(too_big.code(), "citizen_id_sequence_out_of_range");
    let too_early = CitizenId::from_parts(&area, date(1849, 12, 31), 1).unwrap_err();
    assert_eq!(too_early.code(), "citizen_id_invalid_birth_date");
}

/// One row per error variant: input, stable code, English and Chinese message.
#[test]
fn citizen_id_errors_say_which_position_and_what_was_expected() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "",
            "citizen_id_empty",
            "citizen identity number: empty input",
            "公民身份号码为空",
        ),
        (
            "11010519491231002",
            "citizen_id_wrong_length",
            "citizen identity number: expected 18 characters, found 17",
            "公民身份号码应为18位，实际为17位",
        ),
        (
            "1101051949123A002X",
            "citizen_id_invalid_character",
            "citizen identity number: character 14 is 'A', expected a digit 0-9",
            "公民身份号码第14位为'A'，应为数字0–9",
        ),
        (
            "11010519491231002Y",
            "citizen_id_check_character",
            "citizen identity number: character 18 is 'Y', expected check character 'X'",
            "公民身份号码第18位为'Y'，校验码应为'X'",
        ),
        (
            "110105194912310025",
            "citizen_id_check_character",
            "citizen identity number: character 18 is '5', expected check character 'X'",
            "公民身份号码第18位为'5'，校验码应为'X'",
        ),
        (
            "110105194902300021",
            "citizen_id_invalid_birth_date",
            "citizen identity number: characters 7-14 are '19490230', which is not a real \
             birth date (YYYYMMDD, year 1850 or later)",
            "公民身份号码第7至14位为'19490230'，不是有效的出生日期（YYYYMMDD，1850年及以后）",
        ),
        (
            "110105184912310021",
            "citizen_id_invalid_birth_date",
            "citizen identity number: characters 7-14 are '18491231', which is not a real \
             birth date (YYYYMMDD, year 1850 or later)",
            "公民身份号码第7至14位为'18491231'，不是有效的出生日期（YYYYMMDD，1850年及以后）",
        ),
        (
            "990105194912310021",
            "citizen_id_unknown_area_code",
            "citizen identity number: '990105' is not a known GB/T 2260 administrative \
             division code",
            "公民身份号码中的'990105'不是已知的GB/T 2260行政区划代码",
        ),
    ];
    for (input, code, english, chinese) in cases {
        let error = CitizenId::parse(input).unwrap_err();
        assert_eq!(error.code(), *code, "code for {input:?}");
        assert_eq!(error.to_string(), *english, "English for {input:?}");
        assert_eq!(error.message_zh(), *chinese, "Chinese for {input:?}");
        assert_eq!(error.kind(), IdentifierKind::CitizenId);
    }
}

#[test]
fn citizen_id_leap_days() {
    // 2000 was a leap year, 1900 was not.
    let area = AreaCode::parse("110101").unwrap();
    assert!(CitizenId::from_parts(&area, date(2000, 2, 29), 1).is_ok());
    let body = "11010119000229001";
    let error = CitizenId::parse(&format!("{body}0")).unwrap_err();
    assert_eq!(error.code(), "citizen_id_invalid_birth_date");
}

#[test]
fn citizen_id_serde_uses_the_validating_parse() {
    let citizen_id = CitizenId::parse("11010519491231002X").unwrap();
    let json = serde_json::to_string(&citizen_id).unwrap();
    assert_eq!(json, "\"11010519491231002X\"");
    let back: CitizenId = serde_json::from_str("\"11010519491231002x\"").unwrap();
    assert_eq!(back, citizen_id);
    let error = serde_json::from_str::<CitizenId>("\"110105194912310025\"").unwrap_err();
    assert!(error.to_string().contains("expected check character 'X'"));
    assert_eq!(serde_json::to_string(&Sex::Female).unwrap(), "\"female\"");
    assert_eq!(serde_json::from_str::<Sex>("\"male\"").unwrap(), Sex::Male);
}

// ---------------------------------------------------------------------------
// CreditCode (GB 32100-2015)
// ---------------------------------------------------------------------------

#[test]
fn credit_code_standard_example_passes() {
    // The worked example of GB 32100-2015.
    let code = CreditCode::parse("91350100M000100Y43").unwrap();
    assert_eq!(
        code.registration_authority(),
        RegistrationAuthority::IndustryAndCommerce
    );
    assert_eq!(code.registration_authority().name_zh(), "工商");
    assert_eq!(code.organisation_type(), OrganisationType::Enterprise);
    assert_eq!(code.organisation_type().name_zh(), "企业");
    assert_eq!(code.registration_area_code(), "350100");
    assert_eq!(
        code.registration_area().unwrap().full_name(),
        "福建省福州市"
    );
    assert_eq!(code.organisation_code(), "M000100Y4");
    assert_eq!(code.check_character(), '3');
}

#[test]
fn credit_code_standard_counter_example_is_rejected_with_expected_check() {
    // The standard's example of a wrong code: the 18th character should be 3.
    let error = CreditCode::parse("91350100M000100Y4Z").unwrap_err();
    assert_eq!(
        error,
        IdentifierError::CheckCharacterMismatch {
            kind: IdentifierKind::CreditCode,
            position: 18,
            found: 'Z',
            expected: '3'
        }
    );
    assert_eq!(
        error.to_string(),
        "unified social credit code: character 18 is 'Z', expected check character '3'"
    );
    assert_eq!(
        error.message_zh(),
        "统一社会信用代码第18位为'Z'，校验码应为'3'"
    );
}

#[test]
fn credit_code_real_world_codes_pass() {
    for text in [
        "91110108MA01G0FB09", // letters after H in the organisation code
        "9144030071526726XG", // organisation check character X
        "914403001922038216",
        "91320594780268314T", // 320594 苏州工业园区: not a GB/T 2260 code
    ] {
        let code = CreditCode::parse(text).unwrap();
        assert_eq!(code.as_str(), text);
    }
    let suzhou = CreditCode::parse("91320594780268314T").unwrap();
    assert_eq!(suzhou.registration_area_code(), "320594");
    assert_eq!(suzhou.registration_area(), None);
}

#[test]
fn credit_code_lower_case_is_normalised() {
    let code = CreditCode::parse(" 91350100m000100y43 ").unwrap();
    assert_eq!(code.as_str(), "91350100M000100Y43");
}

#[test]
fn credit_code_errors_say_which_position_and_what_was_expected() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "   ",
            "credit_code_empty",
            "unified social credit code: empty input",
            "统一社会信用代码为空",
        ),
        (
            "91350100M000100Y4",
            "credit_code_wrong_length",
            "unified social credit code: expected 18 characters, found 17",
            "统一社会信用代码应为18位，实际为17位",
        ),
        (
            "B1350100M000100Y43",
            "credit_code_invalid_character",
            "unified social credit code: character 1 is 'B', expected a registration \
             authority code (1-9, A, N or Y)",
            "统一社会信用代码第1位为'B'，应为登记管理部门代码（1–9、A、N或Y）",
        ),
        (
            "94350100M000100Y43",
            "credit_code_invalid_combination",
            "unified social credit code: character 2 is '4', which is not valid after '9'; \
             expected one of 1, 2, 3",
            "统一社会信用代码第2位为'4'，不能跟在'9'之后，应为1、2、3之一",
        ),
        (
            "913501A0M000100Y43",
            "credit_code_invalid_character",
            "unified social credit code: character 7 is 'A', expected a digit 0-9",
            "统一社会信用代码第7位为'A'，应为数字0–9",
        ),
        (
            "91990100M000100Y43",
            "credit_code_invalid_segment",
            "unified social credit code: characters 3-4 are '99', expected a known province \
             code (or 10 for national registration)",
            "统一社会信用代码第3至4位为'99'，应为已知的省级行政区划代码（或国家级登记的10）",
        ),
        (
            "91350100M0I0100Y43",
            "credit_code_invalid_character",
            "unified social credit code: character 11 is 'I', expected a digit or an \
             upper-case letter other than I, O, Z, S, V",
            "统一社会信用代码第11位为'I'，应为数字或除I、O、Z、S、V以外的大写字母",
        ),
        (
            "91350100M000100Y53",
            "credit_code_check_character",
            "unified social credit code: character 17 is '5', expected check character '4'",
            "统一社会信用代码第17位为'5'，校验码应为'4'",
        ),
    ];
    for (input, code, english, chinese) in cases {
        let error = CreditCode::parse(input).unwrap_err();
        assert_eq!(error.code(), *code, "code for {input:?}");
        assert_eq!(error.to_string(), *english, "English for {input:?}");
        assert_eq!(error.message_zh(), *chinese, "Chinese for {input:?}");
    }
}

#[test]
fn credit_code_combinations_follow_the_standard_tables() {
    let valid = |authority: char, organisation_type: char| {
        RegistrationAuthority::from_code(authority)
            .and_then(|authority| OrganisationType::from_codes(authority, organisation_type))
    };
    assert_eq!(valid('9', '2'), Some(OrganisationType::IndividualBusiness));
    assert_eq!(valid('9', '3'), Some(OrganisationType::FarmersCooperative));
    assert_eq!(valid('9', '9'), None);
    assert_eq!(valid('5', '1'), Some(OrganisationType::SocialOrganisation));
    assert_eq!(
        valid('5', '2'),
        Some(OrganisationType::PrivateNonEnterpriseUnit)
    );
    assert_eq!(valid('5', '3'), Some(OrganisationType::Foundation));
    assert_eq!(valid('5', '9'), Some(OrganisationType::OtherCivilAffairs));
    assert_eq!(valid('5', '4'), None);
    assert_eq!(valid('1', '2'), Some(OrganisationType::PublicInstitution));
    assert_eq!(
        valid('1', '2').map(OrganisationType::name_zh),
        Some("事业单位")
    );
    assert_eq!(valid('Y', '1'), Some(OrganisationType::Other));
    assert_eq!(valid('Y', '2'), None);
    assert_eq!(
        valid('N', '2').map(OrganisationType::name_zh),
        Some("村级集体经济组织")
    );
    assert_eq!(valid('Z', '1'), None);
    for organisation_type in OrganisationType::ALL {
        let (authority, code) = organisation_type.codes();
        assert!(authority.organisation_type_codes().contains(&code));
        assert_eq!(organisation_type.registration_authority(), authority);
    }
}

#[test]
fn credit_code_from_parts_computes_both_check_characters() {
    let fuzhou = AreaCode::parse("350100").unwrap();
    let code = CreditCode::from_parts(OrganisationType::Enterprise, &fuzhou, "m000100y").unwrap();
    assert_eq!(code.as_str(), "91350100M000100Y43");
    let error =
        CreditCode::from_parts(OrganisationType::Foundation, &fuzhou, "M00010OY").unwrap_err();
    assert_eq!(error.code(), "credit_code_invalid_character");
    let error = CreditCode::from_parts(OrganisationType::Foundation, &fuzhou, "M0001").unwrap_err();
    assert_eq!(error.code(), "credit_code_wrong_length");
}

#[test]
fn credit_code_serde_round_trip() {
    let code = CreditCode::parse("91350100M000100Y43").unwrap();
    let json = serde_json::to_string(&code).unwrap();
    assert_eq!(json, "\"91350100M000100Y43\"");
    assert_eq!(serde_json::from_str::<CreditCode>(&json).unwrap(), code);
    assert!(serde_json::from_str::<CreditCode>("\"91350100M000100Y4Z\"").is_err());
}

// ---------------------------------------------------------------------------
// AreaCode (GB/T 2260)
// ---------------------------------------------------------------------------

#[test]
fn area_code_published_examples() {
    let cases = [
        ("110000", "北京市", "北京市", AreaLevel::Province, None),
        (
            "110101",
            "东城区",
            "北京市东城区",
            AreaLevel::County,
            Some("110000"),
        ),
        (
            "440106",
            "天河区",
            "广东省广州市天河区",
            AreaLevel::County,
            Some("440100"),
        ),
        (
            "320102",
            "玄武区",
            "江苏省南京市玄武区",
            AreaLevel::County,
            Some("320100"),
        ),
        (
            "321002",
            "广陵区",
            "江苏省扬州市广陵区",
            AreaLevel::County,
            Some("321000"),
        ),
        (
            "340202",
            "镜湖区",
            "安徽省芜湖市镜湖区",
            AreaLevel::County,
            Some("340200"),
        ),
        (
            "360502",
            "渝水区",
            "江西省新余市渝水区",
            AreaLevel::County,
            Some("360500"),
        ),
        (
            "440100",
            "广州市",
            "广东省广州市",
            AreaLevel::Prefecture,
            Some("440000"),
        ),
    ];
    for (code, name, full_name, level, parent) in cases {
        let area = AreaCode::parse(code).unwrap();
        assert_eq!(area.as_str(), code);
        assert_eq!(area.name(), name);
        assert_eq!(area.full_name(), full_name);
        assert_eq!(area.level(), level);
        assert_eq!(area.parent().map(|parent| parent.as_str()), parent);
        assert!(area.is_current(), "{code} is current");
    }
}

#[test]
fn area_code_keeps_historical_codes() {
    // 崇文区 was merged into 东城区 in 2010.
    let chongwen = AreaCode::parse("110103").unwrap();
    assert_eq!(chongwen.name(), "崇文区");
    assert!(!chongwen.is_current());
    assert_eq!(chongwen.full_name(), "北京市崇文区");
    // Counties directly under a province skip the grouping code 429000.
    let xiantao = AreaCode::parse("429004").unwrap();
    assert_eq!(xiantao.full_name(), "湖北省仙桃市");
    assert_eq!(xiantao.province().name(), "湖北省");
}

#[test]
fn area_code_children() {
    let beijing = AreaCode::parse("110000").unwrap();
    let children = AreaCode::children_of(&beijing);
    let current: Vec<&str> = children
        .iter()
        .filter(|child| child.is_current())
        .map(|child| child.name())
        .collect();
    assert_eq!(current.len(), 16, "{current:?}");
    assert!(current.contains(&"东城区"));
    assert!(children.iter().any(|child| child.name() == "崇文区"));
    let guangzhou = AreaCode::parse("440100").unwrap();
    assert!(
        guangzhou
            .children()
            .iter()
            .any(|child| child.name() == "天河区")
    );
}

#[test]
fn area_code_errors() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "",
            "area_code_empty",
            "administrative division code: empty input",
            "行政区划代码为空",
        ),
        (
            "11010",
            "area_code_wrong_length",
            "administrative division code: expected 6 characters, found 5",
            "行政区划代码应为6位，实际为5位",
        ),
        (
            "11O101",
            "area_code_invalid_character",
            "administrative division code: character 3 is 'O', expected a digit 0-9",
            "行政区划代码第3位为'O'，应为数字0–9",
        ),
        (
            "110199",
            "area_code_unknown_area_code",
            "administrative division code: '110199' is not a known GB/T 2260 administrative \
             division code",
            "行政区划代码中的'110199'不是已知的GB/T 2260行政区划代码",
        ),
    ];
    for (input, code, english, chinese) in cases {
        let error = AreaCode::parse(input).unwrap_err();
        assert_eq!(error.code(), *code, "code for {input:?}");
        assert_eq!(error.to_string(), *english, "English for {input:?}");
        assert_eq!(error.message_zh(), *chinese, "Chinese for {input:?}");
    }
}

#[test]
fn area_code_table_is_consistent() {
    let all: Vec<AreaCode> = AreaCode::all().collect();
    assert!(all.len() > 6000, "{} codes", all.len());
    assert!(
        all.windows(2).all(|pair| pair[0] < pair[1]),
        "sorted, unique"
    );
    for area in &all {
        assert_eq!(area.province().level(), AreaLevel::Province, "{area:?}");
        if let Some(parent) = area.parent() {
            assert!(
                parent.level() != area.level() || parent == *area,
                "{area:?}"
            );
            assert!(area.as_str().starts_with(&parent.as_str()[..2]), "{area:?}");
        } else {
            assert_eq!(area.level(), AreaLevel::Province, "{area:?} has no parent");
        }
        assert!(!area.name().is_empty());
    }
    let current = all.iter().filter(|area| area.is_current()).count();
    assert!(current > 3000, "{current} current codes");
}

#[test]
fn area_code_serde_round_trip() {
    let area = AreaCode::parse("440106").unwrap();
    assert_eq!(serde_json::to_string(&area).unwrap(), "\"440106\"");
    assert_eq!(
        serde_json::from_str::<AreaCode>("\"440106\"").unwrap(),
        area
    );
    assert!(serde_json::from_str::<AreaCode>("\"999999\"").is_err());
}

// ---------------------------------------------------------------------------
// DivisionCode and GridCode
// ---------------------------------------------------------------------------

#[test]
fn division_code_street_and_community() {
    let community = DivisionCode::parse("330102016001").unwrap();
    assert_eq!(community.level(), DivisionLevel::Community);
    assert_eq!(community.county().as_str(), "330102");
    assert_eq!(community.street_number(), 16);
    assert_eq!(community.community_number(), Some(1));
    let street = community.street().unwrap();
    assert_eq!(street.as_str(), "330102016");
    assert_eq!(street.level(), DivisionLevel::Street);
    assert_eq!(street.street(), None);
    assert_eq!(street.community_number(), None);
    // A prefecture-level city without counties has towns directly below it.
    assert!(DivisionCode::parse("441900003").is_ok());
}

#[test]
fn division_code_from_parts() {
    let county = AreaCode::parse("110101").unwrap();
    let street = DivisionCode::from_parts(&county, 1, None).unwrap();
    assert_eq!(street.as_str(), "110101001");
    let community = DivisionCode::from_parts(&county, 1, Some(23)).unwrap();
    assert_eq!(community.as_str(), "110101001023");
    assert_eq!(community.street().unwrap(), street);
    let error = DivisionCode::from_parts(&county, 0, None).unwrap_err();
    assert_eq!(error.code(), "division_code_sequence_out_of_range");
    let province = AreaCode::parse("110000").unwrap();
    let error = DivisionCode::from_parts(&province, 1, None).unwrap_err();
    assert_eq!(error.code(), "division_code_invalid_segment");
}

#[test]
fn division_code_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "3301020160",
            "division_code_wrong_length",
            "township or community division code: expected 9 or 12 characters, found 10",
        ),
        (
            "33010201600a",
            "division_code_invalid_character",
            "township or community division code: character 12 is 'a', expected a digit 0-9",
        ),
        (
            "330100016001",
            "division_code_invalid_segment",
            "township or community division code: characters 1-6 are '330100', expected a \
             county-level area code (or a prefecture-level city without counties)",
        ),
        (
            "990102016001",
            "division_code_unknown_area_code",
            "township or community division code: '990102' is not a known GB/T 2260 \
             administrative division code",
        ),
        (
            "330102000001",
            "division_code_invalid_segment",
            "township or community division code: characters 7-9 are '000', expected a \
             street or town number 001-999",
        ),
        (
            "330102016000",
            "division_code_invalid_segment",
            "township or community division code: characters 10-12 are '000', expected a \
             community or village number 001-999",
        ),
    ];
    for (input, code, english) in cases {
        let error = DivisionCode::parse(input).unwrap_err();
        assert_eq!(error.code(), *code, "code for {input:?}");
        assert_eq!(error.to_string(), *english, "English for {input:?}");
    }
    assert_eq!(
        DivisionCode::parse("3301020160").unwrap_err().message_zh(),
        "乡级/村级区划代码应为9或12位，实际为10位"
    );
}

#[test]
fn grid_code_extends_a_community_code() {
    let community = DivisionCode::parse("330102016001").unwrap();
    let grid = GridCode::from_parts(&community, 7).unwrap();
    assert_eq!(grid.as_str(), "330102016001007");
    assert_eq!(grid.community(), &community);
    assert_eq!(grid.sequence(), 7);
    assert_eq!(GridCode::parse("330102016001007").unwrap(), grid);

    let street = community.street().unwrap();
    let error = GridCode::from_parts(&street, 7).unwrap_err();
    assert_eq!(error.code(), "grid_code_invalid_segment");
    let error = GridCode::from_parts(&community, 1000).unwrap_err();
    assert_eq!(error.code(), "grid_code_sequence_out_of_range");
    let error = GridCode::parse("330102016001000").unwrap_err();
    assert_eq!(
        error.to_string(),
        "unit grid code: characters 13-15 are '000', expected a grid sequence number 001-999"
    );
    assert_eq!(
        error.message_zh(),
        "单元网格代码第13至15位为'000'，应为单元网格顺序码001–999"
    );
    assert_eq!(
        GridCode::parse("33010201600100").unwrap_err().code(),
        "grid_code_wrong_length"
    );
    assert_eq!(
        GridCode::parse("990102016001001").unwrap_err().code(),
        "grid_code_unknown_area_code"
    );
}

// ---------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------

#[test]
fn phone_accepts_prefixes_and_separators() {
    for input in [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "0086 13812345678",
        "008613812345678",
        "8613812345678",
        "  86-138-1234-5678 ",
    ] {
        let phone = Phone::parse(input).unwrap();
        assert_eq!(phone.as_str(), "13812345678", "{input:?}");
    }
    let phone = Phone::parse("13812345678").unwrap();
    assert_eq!(phone.masked(), "138****5678");
    assert_eq!(phone.e164(), "+8613812345678");
    assert_eq!(serde_json::to_string(&phone).unwrap(), "\"13812345678\"");
}

#[test]
fn phone_errors() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "",
            "phone_empty",
            "mobile phone number: empty input",
            "手机号码为空",
        ),
        (
            "1381234567",
            "phone_wrong_length",
            "mobile phone number: expected 11 characters, found 10",
            "手机号码应为11位，实际为10位",
        ),
        (
            "138.1234.5678",
            "phone_invalid_character",
            "mobile phone number: character 4 is '.', expected a digit, a space or a hyphen",
            "手机号码第4位为'.'，应为数字、空格或连字符",
        ),
        (
            "+85 13812345678",
            "phone_invalid_character",
            "mobile phone number: character 3 is '5', expected the country code 86",
            "手机号码第3位为'5'，应为国家代码86",
        ),
        (
            "23812345678",
            "phone_invalid_character",
            "mobile phone number: character 1 is '2', expected the digit 1",
            "手机号码第1位为'2'，应为数字1",
        ),
        (
            "+86 128 1234 5678",
            "phone_invalid_character",
            "mobile phone number: character 6 is '2', expected a digit 3-9",
            "手机号码第6位为'2'，应为数字3–9",
        ),
    ];
    for (input, code, english, chinese) in cases {
        let error = Phone::parse(input).unwrap_err();
        assert_eq!(error.code(), *code, "code for {input:?}");
        assert_eq!(error.to_string(), *english, "English for {input:?}");
        assert_eq!(error.message_zh(), *chinese, "Chinese for {input:?}");
    }
}

// ---------------------------------------------------------------------------
// PersonName
// ---------------------------------------------------------------------------

#[test]
fn person_name_surnames() {
    let name = PersonName::parse(" 张三 ").unwrap();
    assert_eq!(name.as_str(), "张三");
    assert_eq!(name.surname(), Some("张"));
    assert_eq!(name.given_name(), Some("三"));
    let name = PersonName::parse("欧阳娜娜").unwrap();
    assert_eq!(name.surname(), Some("欧阳"));
    assert_eq!(name.given_name(), Some("娜娜"));
    let name = PersonName::parse("诸葛亮").unwrap();
    assert_eq!(name.surname(), Some("诸葛"));
    // A two-character name starting like a compound surname: 司 + 马.
    assert_eq!(PersonName::parse("司马").unwrap().surname(), Some("司"));
    assert_eq!(PersonName::parse("李").unwrap().surname(), None);
}

#[test]
fn person_name_middle_dots_are_normalised() {
    for input in [
        "买买提·艾力",
        "买买提・艾力",
        "买买提•艾力",
        "买买提．艾力",
        "买买提‧艾力",
        "买买提.艾力",
    ] {
        let name = PersonName::parse(input).unwrap();
        assert_eq!(name.as_str(), "买买提\u{00B7}艾力", "{input:?}");
        assert_eq!(name.surname(), None);
        assert!(name.has_middle_dot());
    }
    // Extension B characters are accepted.
    assert!(PersonName::parse("王\u{20000}").is_ok());
}

#[test]
fn person_name_errors() {
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "\u{3000}",
            "person_name_empty",
            "person name: empty input",
            "姓名为空",
        ),
        (
            "张三1",
            "person_name_invalid_character",
            "person name: character 3 is '1', expected a Chinese character or the middle \
             dot '·'",
            "姓名第3位为'1'，应为汉字或间隔号'·'",
        ),
        (
            "张 三",
            "person_name_invalid_character",
            "person name: character 2 is ' ', expected a Chinese character or the middle \
             dot '·'",
            "姓名第2位为' '，应为汉字或间隔号'·'",
        ),
        (
            "·艾力",
            "person_name_misplaced_middle_dot",
            "person name: the middle dot at character 1 may not start or end the name or \
             follow another dot",
            "姓名第1位的间隔号'·'不能位于开头或结尾，也不能与另一间隔号相连",
        ),
        (
            "买买提··艾力",
            "person_name_misplaced_middle_dot",
            "person name: the middle dot at character 5 may not start or end the name or \
             follow another dot",
            "姓名第5位的间隔号'·'不能位于开头或结尾，也不能与另一间隔号相连",
        ),
    ];
    for (input, code, english, chinese) in cases {
        let error = PersonName::parse(input).unwrap_err();
        assert_eq!(error.code(), *code, "code for {input:?}");
        assert_eq!(error.to_string(), *english, "English for {input:?}");
        assert_eq!(error.message_zh(), *chinese, "Chinese for {input:?}");
    }
    let too_long = "王".repeat(31);
    let error = PersonName::parse(&too_long).unwrap_err();
    assert_eq!(error.code(), "person_name_wrong_length");
    assert_eq!(
        error.to_string(),
        "person name: expected 1 to 30 characters, found 31"
    );
    assert_eq!(error.message_zh(), "姓名应为1至30个字，实际为31个字");
    assert_eq!(
        PersonName::parse("买买提·").unwrap_err(),
        IdentifierError::MisplacedMiddleDot { position: 4 }
    );
}

#[test]
fn identifier_kind_names() {
    assert_eq!(
        IdentifierKind::CitizenId.to_string(),
        "citizen identity number"
    );
    assert_eq!(IdentifierKind::CitizenId.name_zh(), "公民身份号码");
    assert_eq!(IdentifierKind::CreditCode.name_zh(), "统一社会信用代码");
    assert_eq!(IdentifierKind::GridCode.as_str(), "grid_code");
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn any_area() -> impl Strategy<Value = AreaCode> {
    proptest::sample::select(AreaCode::all().collect::<Vec<_>>())
}

fn any_birth_date() -> impl Strategy<Value = NaiveDate> {
    // 1850-01-01 to 2099-12-31.
    (0u64..91_310).prop_map(|days| date(1850, 1, 1) + Days::new(days))
}

fn any_citizen_id() -> impl Strategy<Value = CitizenId> {
    (any_area(), any_birth_date(), 0u16..1000).prop_map(|(area, birth, sequence)| {
        CitizenId::from_parts(&area, birth, sequence).expect("valid parts")
    })
}

const CREDIT_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

fn any_credit_code() -> impl Strategy<Value = CreditCode> {
    (
        proptest::sample::select(OrganisationType::ALL.to_vec()),
        any_area(),
        proptest::collection::vec(
            proptest::sample::select(CREDIT_ALPHABET.chars().collect::<Vec<_>>()),
            8,
        ),
    )
        .prop_map(|(organisation_type, area, body)| {
            let body: String = body.into_iter().collect();
            CreditCode::from_parts(organisation_type, &area, &body).expect("valid parts")
        })
}

const CITIZEN_ALPHABET: &str = "0123456789X";

/// The character `shift` places after `original` in `alphabet` (cyclically);
/// with 0 < shift < alphabet length it always differs from `original`, which
/// avoids rejecting generated cases.
fn different_character(alphabet: &str, original: char, shift: usize) -> char {
    let characters: Vec<char> = alphabet.chars().collect();
    let index = characters
        .iter()
        .position(|&character| character == original)
        .expect("generated identifiers use the alphabet");
    characters[(index + shift) % characters.len()]
}

fn substitute(text: &str, index: usize, replacement: char) -> String {
    text.chars()
        .enumerate()
        .map(|(position, character)| {
            if position == index {
                replacement
            } else {
                character
            }
        })
        .collect()
}

proptest! {
    #[test]
    fn citizen_id_from_parts_round_trips(
        area in any_area(),
        birth in any_birth_date(),
        sequence in 0u16..1000,
    ) {
        let citizen_id = CitizenId::from_parts(&area, birth, sequence).unwrap();
        let parsed = CitizenId::parse(&citizen_id.to_string()).unwrap();
        prop_assert_eq!(&parsed, &citizen_id);
        prop_assert_eq!(parsed.birth_date(), birth);
        prop_assert_eq!(parsed.area_code(), area);
        prop_assert_eq!(parsed.sequence(), sequence);
        let expected_sex = if sequence % 2 == 1 { Sex::Male } else { Sex::Female };
        prop_assert_eq!(parsed.sex(), expected_sex);
        let json = serde_json::to_string(&citizen_id).unwrap();
        prop_assert_eq!(serde_json::from_str::<CitizenId>(&json).unwrap(), citizen_id);
    }

    #[test]
    fn citizen_id_single_substitution_is_rejected(
        citizen_id in any_citizen_id(),
        index in 0usize..18,
        shift in 1usize..11,
    ) {
        let original = citizen_id.as_str().chars().nth(index).unwrap();
        let replacement = different_character(CITIZEN_ALPHABET, original, shift);
        let altered = substitute(citizen_id.as_str(), index, replacement);
        prop_assert!(CitizenId::parse(&altered).is_err(), "{} accepted", altered);
    }

    #[test]
    fn credit_code_from_parts_round_trips(code in any_credit_code()) {
        let parsed = CreditCode::parse(code.as_str()).unwrap();
        prop_assert_eq!(&parsed, &code);
        prop_assert_eq!(parsed.organisation_type().registration_authority(), parsed.registration_authority());
        prop_assert!(parsed.registration_area().is_some());
    }

    #[test]
    fn credit_code_single_substitution_is_rejected(
        code in any_credit_code(),
        index in 0usize..18,
        shift in 1usize..31,
    ) {
        let original = code.as_str().chars().nth(index).unwrap();
        let replacement = different_character(CREDIT_ALPHABET, original, shift);
        let altered = substitute(code.as_str(), index, replacement);
        prop_assert!(CreditCode::parse(&altered).is_err(), "{} accepted", altered);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_strings(text in any::<String>()) {
        let _ = CitizenId::parse(&text);
        let _ = CitizenId::parse_as_of(&text, date(2024, 1, 1));
        let _ = CitizenId::upgrade_legacy(&text);
        let _ = CreditCode::parse(&text);
        let _ = AreaCode::parse(&text);
        let _ = DivisionCode::parse(&text);
        let _ = GridCode::parse(&text);
        let _ = Phone::parse(&text);
        let _ = PersonName::parse(&text);
    }

    #[test]
    fn parsers_never_panic_on_plausible_strings(
        text in "[0-9A-Za-z]{18}|[0-9Xx]{18}|[0-9]{6}|[0-9]{9}|[0-9]{12}|[0-9]{15}|\\+?[0-9 -]{11,16}",
    ) {
        for result_is_ok in [
            CitizenId::parse(&text).is_ok(),
            CitizenId::upgrade_legacy(&text).is_ok(),
            CreditCode::parse(&text).is_ok(),
            AreaCode::parse(&text).is_ok(),
            DivisionCode::parse(&text).is_ok(),
            GridCode::parse(&text).is_ok(),
            Phone::parse(&text).is_ok(),
        ] {
            let _ = result_is_ok;
        }
        // Whatever parses re-parses from its Display form to an equal value.
        if let Ok(value) = CitizenId::parse(&text) {
            prop_assert_eq!(CitizenId::parse(&value.to_string()).unwrap(), value);
        }
        if let Ok(value) = CreditCode::parse(&text) {
            prop_assert_eq!(CreditCode::parse(&value.to_string()).unwrap(), value);
        }
        if let Ok(value) = Phone::parse(&text) {
            prop_assert_eq!(Phone::parse(&value.to_string()).unwrap(), value);
        }
    }

    #[test]
    fn phone_round_trips_through_any_formatting(
        second in 3u8..=9,
        rest in "[0-9]{9}",
        prefix in proptest::sample::select(vec!["", "+86", "+86 ", "0086", "0086-", "86", "86 "]),
        separated in any::<bool>(),
    ) {
        let national = format!("1{second}{rest}");
        let body = if separated {
            format!("{} {}-{}", &national[..3], &national[3..7], &national[7..])
        } else {
            national.clone()
        };
        let phone = Phone::parse(&format!("{prefix}{body}")).unwrap();
        prop_assert_eq!(phone.as_str(), national.as_str());
        prop_assert_eq!(Phone::parse(&phone.to_string()).unwrap(), phone);
    }

    #[test]
    fn person_name_round_trips(
        first in "[\u{4E00}-\u{9FA5}]{1,6}",
        second in proptest::option::of("[\u{4E00}-\u{9FA5}]{1,6}"),
    ) {
        let text = match &second {
            Some(second) => format!("{first}·{second}"),
            None => first.clone(),
        };
        let name = PersonName::parse(&text).unwrap();
        prop_assert_eq!(name.as_str(), text.as_str());
        prop_assert_eq!(PersonName::parse(&name.to_string()).unwrap(), name);
    }

    #[test]
    fn grid_code_from_parts_round_trips(
        area in any_area().prop_filter("county-level unit", AreaCode::is_county_level_unit),
        street in 1u16..1000,
        community in 1u16..1000,
        sequence in 1u16..1000,
    ) {
        let community = DivisionCode::from_parts(&area, street, Some(community)).unwrap();
        prop_assert_eq!(DivisionCode::parse(community.as_str()).unwrap(), community.clone());
        let grid = GridCode::from_parts(&community, sequence).unwrap();
        let parsed = GridCode::parse(&grid.to_string()).unwrap();
        prop_assert_eq!(parsed.community(), &community);
        prop_assert_eq!(parsed.sequence(), sequence);
        prop_assert_eq!(parsed, grid);
    }
}
