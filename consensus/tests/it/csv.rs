//! crowd-kit's CSV layout: columns found by name, clear errors.

use labelmint_consensus::csv_io::{read_answers, read_gold, write_decisions};
use labelmint_consensus::{AnswersBuilder, Error, Method, RunConfig, run};

#[test]
fn reads_any_column_order_and_writes_decisions() {
    let mut b = AnswersBuilder::new();
    let answers = "label,extra,worker,task\ncat,x,w1,t1\ncat,y,w2,t1\n\"dog, big\",z,w3,t1\n";
    read_answers("answers.csv", answers.as_bytes(), &mut b).expect("read");
    read_gold("gold.csv", "task,true_label\ng1,cat\n".as_bytes(), &mut b).expect("gold");
    let a = b.build().expect("build");
    assert_eq!(a.labels(), ["cat", "dog, big"]);
    let mut cfg = RunConfig::new(Method::MajorityVote);
    cfg.policy.threshold = 0.6;
    let out = run(&a, &cfg, None).expect("run");
    let mut buf = Vec::new();
    write_decisions(&a, &out.decisions, &mut buf).expect("write");
    assert_eq!(
        String::from_utf8(buf).expect("utf8"),
        "task,label,confidence,state\ng1,cat,1.000000,gold\nt1,cat,0.666667,decided\n"
    );
}

#[test]
fn clear_errors() {
    let mut b = AnswersBuilder::new();
    let e = read_answers("a.csv", "task,worker\nt,w\n".as_bytes(), &mut b).unwrap_err();
    assert!(
        matches!(
            e,
            Error::MissingColumn {
                column: "label",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "a.csv: missing column `label` (found: task,worker)"
    );
    let e = read_answers("a.csv", "task,worker,label\n".as_bytes(), &mut b).unwrap_err();
    assert!(matches!(e, Error::Empty { .. }), "{e}");
    let e = read_answers("a.csv", "".as_bytes(), &mut b).unwrap_err();
    assert!(matches!(e, Error::Empty { .. }), "{e}");
    let e = read_answers("a.csv", "task,worker,label\nt,,x\n".as_bytes(), &mut b).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = read_answers("a.csv", "task,worker,label\nt,w\n".as_bytes(), &mut b).unwrap_err();
    assert!(matches!(e, Error::Csv { .. }), "{e}");
    assert!(matches!(
        "xx".parse::<Method>(),
        Err(Error::UnknownMethod(_))
    ));
}
