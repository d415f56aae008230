//! Name tables of the synthetic city: surnames with their frequencies, given-name
//! characters by sex and generation, Uyghur names, stems for street, community and road
//! names, and the words enterprise and shop names are made of.
//!
//! This module owns only fixed data and the small functions that draw from it. It must
//! not decide who a person is (that is `people`) or where anything is (that is
//! `geography`); it never builds identifiers.

use crate::generator::{Generator, WeightedTable};
use huimin_domain::identifiers::Sex;

/// The 100 most common surnames of China in the order of the 2020 ranking published by
/// the Ministry of Public Security's household administration research centre
/// (公安部户政管理研究中心《二〇二〇年全国姓名报告》, February 2021), with each surname's
/// approximate share of the registered population in units of 0.01 %. The report gives
/// the order and the leading shares (the top five together hold about 30.8 %); the shares
/// further down are rounded estimates that keep the order. Draws are normalised over this
/// table, so the remaining ~15 % of the population (rarer surnames) is folded into these.
#[rustfmt::skip]
pub(crate) const SURNAMES: [(&str, u32); 100] = [
    ("王", 712), ("李", 698), ("张", 674), ("刘", 538), ("陈", 455),
    ("杨", 320), ("黄", 245), ("赵", 220), ("吴", 200), ("周", 190),
    ("徐", 145), ("孙", 138), ("马", 127), ("朱", 126), ("胡", 115),
    ("郭", 114), ("何", 112), ("林", 105), ("罗", 104), ("高", 103),
    ("郑", 93), ("梁", 90), ("谢", 82), ("宋", 80), ("唐", 79),
    ("许", 73), ("韩", 72), ("邓", 71), ("冯", 70), ("曹", 69),
    ("彭", 64), ("曾", 63), ("肖", 62), ("田", 61), ("董", 60),
    ("潘", 56), ("袁", 55), ("蔡", 52), ("蒋", 51), ("余", 50),
    ("于", 49), ("杜", 48), ("叶", 47), ("程", 46), ("魏", 45),
    ("苏", 45), ("吕", 44), ("丁", 43), ("任", 43), ("卢", 42),
    ("姚", 40), ("沈", 40), ("钟", 40), ("姜", 39), ("崔", 38),
    ("谭", 37), ("陆", 36), ("范", 35), ("汪", 35), ("廖", 34),
    ("石", 34), ("金", 33), ("韦", 32), ("贾", 31), ("夏", 30),
    ("付", 30), ("方", 30), ("邹", 29), ("熊", 29), ("白", 28),
    ("孟", 27), ("秦", 27), ("邱", 27), ("侯", 26), ("江", 26),
    ("尹", 25), ("薛", 25), ("闫", 24), ("段", 24), ("雷", 24),
    ("龙", 23), ("黎", 22), ("史", 22), ("陶", 22), ("贺", 21),
    ("毛", 21), ("郝", 20), ("顾", 20), ("龚", 20), ("邵", 20),
    ("万", 19), ("覃", 19), ("武", 19), ("钱", 18), ("戴", 18),
    ("严", 18), ("莫", 17), ("孔", 17), ("向", 17), ("常", 16),
];

/// Characters common in the given names of men born before about 1975.
const MALE_CHARACTERS_OLDER: &[char] = &[
    '建', '国', '华', '明', '军', '平', '文', '志', '德', '福', '林', '荣', '海', '忠', '永', '祥',
    '宝', '贵', '生', '金', '春', '长', '伟', '强', '兵', '东', '成', '洪', '俊', '勇', '庆', '根',
    '中', '正', '山', '良', '新', '民', '清', '发',
];

/// Characters common in the given names of men born from about 1975.
const MALE_CHARACTERS_YOUNGER: &[char] = &[
    '伟', '磊', '杰', '涛', '浩', '宇', '鹏', '飞', '超', '斌', '俊', '峰', '晨', '轩', '睿', '泽',
    '博', '子', '辰', '逸', '凯', '鑫', '阳', '昊', '然', '航', '豪', '宁', '皓', '宸', '铭', '亮',
    '毅', '翔', '健', '彬', '智', '嘉', '一', '文',
];

/// Characters common in the given names of women born before about 1975.
const FEMALE_CHARACTERS_OLDER: &[char] = &[
    '秀', '英', '兰', '桂', '珍', '芳', '凤', '玉', '华', '梅', '琴', '云', '莲', '霞', '萍', '淑',
    '红', '丽', '敏', '美', '翠', '菊', '素', '彩', '月', '琳', '珠', '娟', '芬', '燕',
];

/// Characters common in the given names of women born from about 1975.
const FEMALE_CHARACTERS_YOUNGER: &[char] = &[
    '婷', '静', '丽', '娜', '敏', '燕', '雪', '琳', '慧', '颖', '洁', '欣', '怡', '佳', '雨', '思',
    '梓', '涵', '萱', '彤', '晶', '莉', '倩', '悦', '诗', '琪', '可', '馨', '瑶', '妍', '晓', '艺',
];

/// Uyghur personal names as written in Chinese transliteration; a full name is the
/// person's own name, a middle dot, and the father's name (阿依古丽·买买提).
pub(crate) const UYGHUR_MALE_NAMES: &[&str] = &[
    "买买提",
    "艾力",
    "艾买提",
    "阿不都",
    "吐尔逊",
    "努尔",
    "亚森",
    "热合曼",
    "艾克拜尔",
    "伊力哈木",
    "阿迪力",
    "库尔班",
    "玉素甫",
    "艾尔肯",
];

pub(crate) const UYGHUR_FEMALE_NAMES: &[&str] = &[
    "阿依古丽",
    "古丽娜尔",
    "热依拉",
    "帕提古丽",
    "迪丽娜尔",
    "阿依努尔",
    "米热古丽",
    "再努尔",
    "古丽米拉",
    "努尔尼沙",
];

/// First and second characters of place-name stems (文昌, 东关, 汶河 …) for streets and
/// communities. Their combinations give more than a thousand distinct stems.
const PLACE_FIRST_CHARACTERS: &[char] = &[
    '文', '东', '汶', '琼', '梅', '蜀', '邗', '运', '仙', '龙', '曲', '湾', '杭', '沙', '双', '五',
    '荷', '石', '康', '渡', '凤', '瓜', '新', '竹', '维', '甘', '西', '玉', '江', '京', '金', '明',
    '春', '翠', '锦', '平', '红', '丰', '兴', '鸿', '华', '南', '北', '和', '安', '福', '友', '育',
    '淮', '柳', '桃', '桂', '兰', '泰',
];

const PLACE_SECOND_CHARACTERS: &[char] = &[
    '昌', '关', '河', '花', '岭', '冈', '上', '园', '湖', '桥', '塘', '湾', '城', '苑', '庄', '坊',
    '门', '圩', '港', '台', '阳', '林', '山', '宁', '泉', '溪', '堤', '州',
];

/// Directions that distinguish the sections of a main road (文昌东路, 文昌中路 …).
pub(crate) const ROAD_SECTIONS: &[&str] = &["东路", "中路", "西路", "南路", "北路", "路"];

/// Endings of smaller roads (东关街, 石塔巷 …).
pub(crate) const SMALL_ROAD_ENDINGS: &[&str] = &["街", "巷", "路"];

/// Roads found in almost every Chinese town, for addresses outside the city.
pub(crate) const COMMON_ROAD_NAMES: &[&str] = &[
    "人民路",
    "解放路",
    "建设路",
    "中山路",
    "和平路",
    "新华路",
    "胜利路",
    "光明路",
    "文化路",
    "健康路",
    "青年路",
    "工农路",
];

/// First and second characters of trade names (字号) such as 恒达, 华盛.
const BRAND_FIRST_CHARACTERS: &[char] = &[
    '恒', '华', '宏', '金', '瑞', '鑫', '汇', '永', '德', '嘉', '天', '信', '润', '盛', '泰', '安',
    '福', '康', '中', '东', '新', '长', '合', '博', '卓', '立', '正', '众', '和', '通', '丰', '隆',
    '旭', '凯', '裕', '茂', '源', '锦', '亿', '广',
];

const BRAND_SECOND_CHARACTERS: &[char] = &[
    '达', '盛', '远', '鼎', '丰', '源', '通', '安', '润', '禾', '成', '诚', '泰', '华', '昌', '兴',
    '邦', '信', '祥', '瑞', '宇', '业', '嘉', '辉', '诺', '晟', '弘', '航', '创', '升',
];

/// Lines of business in enterprise names (行业表述), including Yangzhou's toy and
/// lacquerware trades.
pub(crate) const ENTERPRISE_INDUSTRIES: &[&str] = &[
    "贸易",
    "科技",
    "建筑工程",
    "物业管理",
    "餐饮管理",
    "商贸",
    "电子",
    "机械制造",
    "服装",
    "食品",
    "文化传媒",
    "信息技术",
    "环保科技",
    "房地产开发",
    "物流",
    "装饰工程",
    "医疗器械",
    "汽车销售",
    "教育咨询",
    "玩具",
    "漆器工艺品",
    "旅游开发",
    "家具",
    "新能源",
    "包装材料",
    "酒店管理",
    "劳务服务",
    "广告",
    "农业发展",
    "电气设备",
];

/// Kinds of small shops that individual businesses run.
pub(crate) const SHOP_KINDS: &[&str] = &[
    "面馆",
    "烟酒店",
    "便利店",
    "理发店",
    "五金店",
    "水果店",
    "小吃店",
    "快餐店",
    "超市",
    "汽车修理部",
    "服装店",
    "早点铺",
    "茶社",
    "副食品店",
    "家电维修部",
    "美容美发店",
    "干洗店",
    "文具店",
    "包子铺",
    "浴室",
    "早茶店",
    "粮油店",
    "手机维修部",
    "花店",
];

/// What public institutions (事业单位) in a district are called after a place stem.
pub(crate) const INSTITUTION_KINDS: &[&str] =
    &["小学", "中学", "幼儿园", "社区卫生服务中心", "文化站"];

/// What social organisations (社会组织) are called after a place stem.
pub(crate) const SOCIAL_ORGANISATION_KINDS: &[&str] = &[
    "老年人协会",
    "志愿者协会",
    "居家养老服务中心",
    "书画协会",
    "青少年活动中心",
];

/// The surname table ready for weighted draws.
pub(crate) fn surname_table() -> WeightedTable<&'static str> {
    WeightedTable::new(&SURNAMES)
}

/// A Han given name of one or two characters for a person of `sex` born in
/// `birth_year`: older generations more often have one character and draw from the
/// characters of their time.
pub(crate) fn han_given_name(generator: &mut Generator, sex: Sex, birth_year: i32) -> String {
    let older = birth_year < 1975;
    let characters = match (sex, older) {
        (Sex::Male, true) => MALE_CHARACTERS_OLDER,
        (Sex::Male, false) => MALE_CHARACTERS_YOUNGER,
        (Sex::Female, true) => FEMALE_CHARACTERS_OLDER,
        (Sex::Female, false) => FEMALE_CHARACTERS_YOUNGER,
    };
    let single_character_share = if older { 0.35 } else { 0.15 };
    let first = *generator.pick(characters);
    let mut given = String::with_capacity(6);
    given.push(first);
    if !generator.chance(single_character_share) {
        // Reduplicated names (婷婷, 晶晶) occur, mostly for girls; otherwise two
        // different characters.
        if sex == Sex::Female && generator.chance(0.04) {
            given.push(first);
        } else {
            let mut second = *generator.pick(characters);
            while second == first {
                second = *generator.pick(characters);
            }
            given.push(second);
        }
    }
    given
}

/// A Uyghur personal name for a person of `sex`.
pub(crate) fn uyghur_name(generator: &mut Generator, sex: Sex) -> &'static str {
    let names = match sex {
        Sex::Male => UYGHUR_MALE_NAMES,
        Sex::Female => UYGHUR_FEMALE_NAMES,
    };
    names[generator.index(names.len())]
}

/// A two-character place stem (文昌, 东关) not in `used`, which it is added to. After
/// every combination is taken, stems repeat with a numeral suffix so generation never
/// stalls (a city that large would have 1,500 streets and communities).
pub(crate) fn unique_place_stem(
    generator: &mut Generator,
    used: &mut std::collections::BTreeSet<String>,
) -> String {
    for _ in 0..64 {
        let stem: String = [
            *generator.pick(PLACE_FIRST_CHARACTERS),
            *generator.pick(PLACE_SECOND_CHARACTERS),
        ]
        .into_iter()
        .collect();
        if used.insert(stem.clone()) {
            return stem;
        }
    }
    for first in PLACE_FIRST_CHARACTERS {
        for second in PLACE_SECOND_CHARACTERS {
            let stem: String = [*first, *second].into_iter().collect();
            if used.insert(stem.clone()) {
                return stem;
            }
        }
    }
    let stem = format!("新{}", used.len());
    used.insert(stem.clone());
    stem
}

/// A two-character trade name (恒达, 华盛).
pub(crate) fn brand(generator: &mut Generator) -> String {
    [
        *generator.pick(BRAND_FIRST_CHARACTERS),
        *generator.pick(BRAND_SECOND_CHARACTERS),
    ]
    .into_iter()
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::Stage;
    use chrono::NaiveDate;
    use huimin_domain::identifiers::PersonName;

    fn generator() -> Generator {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a valid date");
        Generator::for_stage(7, Stage::Population, today)
    }

    #[test]
    fn surnames_are_one_hundred_distinct_characters_in_falling_order() {
        let mut seen = std::collections::BTreeSet::new();
        for (surname, _) in SURNAMES {
            assert_eq!(surname.chars().count(), 1, "{surname}");
            assert!(seen.insert(surname), "{surname} listed twice");
        }
        assert!(SURNAMES.windows(2).all(|pair| pair[0].1 >= pair[1].1));
        let top_five: u32 = SURNAMES.iter().take(5).map(|(_, share)| share).sum();
        assert!(
            (3000..=3150).contains(&top_five),
            "top five hold {top_five} of 10,000"
        );
    }

    #[test]
    fn every_generated_name_is_a_valid_person_name() {
        let mut generator = generator();
        let surnames = surname_table();
        for round in 0..2_000 {
            let sex = if round % 2 == 0 {
                Sex::Male
            } else {
                Sex::Female
            };
            let birth_year = 1930 + round % 95;
            let name = format!(
                "{}{}",
                surnames.sample(&mut generator),
                han_given_name(&mut generator, sex, birth_year)
            );
            PersonName::parse(&name).expect("Han names are Chinese characters only");
            let uyghur = format!(
                "{}·{}",
                uyghur_name(&mut generator, sex),
                uyghur_name(&mut generator, Sex::Male)
            );
            let parsed = PersonName::parse(&uyghur)
                .expect("Uyghur names are characters around one middle dot");
            assert!(parsed.has_middle_dot());
        }
    }

    #[test]
    fn place_stems_stay_unique_beyond_the_number_of_combinations() {
        let mut generator = generator();
        let mut used = std::collections::BTreeSet::new();
        let combinations = PLACE_FIRST_CHARACTERS.len() * PLACE_SECOND_CHARACTERS.len();
        let stems: Vec<String> = (0..combinations + 10)
            .map(|_| unique_place_stem(&mut generator, &mut used))
            .collect();
        assert_eq!(used.len(), stems.len());
    }
}
