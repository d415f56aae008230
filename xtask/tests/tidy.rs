//! The house rules as tests, so `cargo test` (and CI) enforces them.

#[path = "../src/tidy.rs"]
#[allow(dead_code)]
mod tidy;

#[test]
fn the_domain_has_no_io_dependencies() {
    let problems = tidy::domain_dependency_problems(&tidy::workspace_root());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_dependency_check_catches_a_forbidden_crate() {
    let tree = "huimin-domain v0.1.0\nserde v1.0.0\ntokio v1.54.1\n";
    assert_eq!(tidy::dependency_problems_in_tree(tree).len(), 1);
    assert!(tidy::dependency_problems_in_tree("huimin-domain v0.1.0\nserde v1.0.0\n").is_empty());
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    let problems = tidy::module_doc_problems(&tidy::workspace_root());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_doc_check_sees_a_missing_doc() {
    assert!(tidy::starts_with_module_doc("//! Owns X.\nfn a() {}"));
    assert!(tidy::starts_with_module_doc(
        "#![no_main]\n//! Fuzz target.\n"
    ));
    assert!(!tidy::starts_with_module_doc(
        "// a plain comment\n//! late\n"
    ));
    assert!(!tidy::starts_with_module_doc("fn a() {}"));
}
