//! The relayer wallet's seqno race: two passes back to back, each with a new release, before
//! the first pass's external landed. The second pass must not send another external at the
//! same wallet seqno (only one would execute, and what the other carried would wait for its
//! retry, `resend_after`, here a minute): its release goes in the NEXT external, once the first
//! landed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use labelmint_devnet::wallet::{WalletV4R2, seqno_of};
use labelmint_settler::settle::Settler;
use labelmint_settler::{Metrics, leader};
use labelmint_settler_testkit::{Options, ProjectSpec, Stack, TON, raw};

const A: u64 = 4101;
const B: u64 = 4102;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_decided_while_the_relayers_external_is_in_flight_goes_in_the_next_one() {
    let mut o = Options::new("settler_it_relayer");
    // Both passes fit in one block interval: the first external cannot land between them.
    o.block_time = Duration::from_secs(2);
    o.projects = vec![ProjectSpec::ton(A), ProjectSpec::ton(B)];
    let s = Stack::start(o).await;
    let mut cfg = s.settler_config("relayer");
    // A carry lost to the race would wait this long for its retry.
    cfg.resend_after = Duration::from_secs(60);
    let resend_after = cfg.resend_after;
    let lead = leader::acquire(
        &cfg.database_url,
        &cfg.holder,
        cfg.db_max_connections,
        cfg.leader_poll,
    )
    .await
    .expect("leader");
    let metrics = Arc::new(Metrics::default());
    let mut settler = Settler::new(cfg, lead.pool.clone(), metrics.clone()).expect("settler");
    let relayer = WalletV4R2::from_seed(s.relayer_seed)
        .address()
        .expect("relayer");
    let relayer_seqno = || seqno_of(&s.data(&relayer).expect("relayer deployed")).expect("seqno");

    s.approve(A, "a", 3, 1, 3, |_| TON / 10).await;
    let before = relayer_seqno();
    // Right after a block: the two passes have the whole interval.
    let mut head = s.devnet.node().subscribe();
    head.changed().await.expect("a block");
    settler.pass().await.expect("pass 1: A's release");
    s.approve(B, "b", 3, 2, 3, |_| TON / 10).await;
    settler.pass().await.expect("pass 2: B's release");
    assert_eq!(
        relayer_seqno(),
        before,
        "both passes ran before the first relayer external landed (the race this test needs)"
    );

    let started = Instant::now();
    let landed = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM settler_releases WHERE landed")
            .fetch_one(&s.pool)
            .await
            .expect("settler_releases")
    };
    while landed().await < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "both releases landed long before a lost carry's retry ({resend_after:?})"
        );
        settler.pass().await.expect("pass");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for p in [A, B] {
        let escrow = raw(&s.project(p).escrow).to_string();
        let (released, bounced): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE kind = 'ev_release'), \
                    count(*) FILTER (WHERE kind = 'ev_release_bounced') \
             FROM events WHERE contract = $1",
        )
        .bind(&escrow)
        .fetch_one(&s.pool)
        .await
        .expect("events");
        assert_eq!((released, bounced), (1, 0), "project {p}: one release");
    }
    assert_eq!(
        metrics.releases_sent(),
        2,
        "each release carried once: no external lost to a seqno race"
    );
    assert_eq!(
        relayer_seqno(),
        before + 2,
        "the relayer's seqno moved once per external that carried something"
    );
}
