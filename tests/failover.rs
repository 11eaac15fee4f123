//! Several hosts and `target_session_attrs` on a real streaming replica
//! (`pgtide_testkit::ReplicaPair`: a primary of the test's own, copied with
//! `pg_basebackup -R`): a read-only pool reads on the replica, a `read-write` pool passes
//! the replica over (naming it), and when the primary is stopped and the replica promoted
//! mid-run, writes keep going within the retry budget and none acknowledged is lost.

mod common;

use std::time::Duration;

use pgtide::config::{Config, ConfigBuilder, PoolSize, SslMode, TargetSessionAttrs};
use pgtide::{ErrorKind, Pool, SecretString, TxOptions, query};
use pgtide_testkit::ReplicaPair;

/// A configuration for `ports` of the pair, in that order.
fn config(pair: &ReplicaPair, ports: &[u16]) -> ConfigBuilder<SecretString, PoolSize> {
    Config::builder()
        .hosts(ports.iter().map(|_| pair.host()))
        .ports(ports.iter().copied())
        .user(pair.user())
        .database("postgres")
        .password(SecretString::from(pair.password().to_owned()))
        .ssl_mode(SslMode::Disable)
        .connect_timeout(Duration::from_secs(5))
        .pool_size(PoolSize::new(1, 3).unwrap())
}

async fn in_recovery(pool: &Pool) -> pgtide::Result<bool> {
    query::fetch_one(pool, sqlx::query_scalar("SELECT pg_is_in_recovery()")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_follow_a_promoted_replica_and_reads_go_to_it_before() -> anyhow::Result<()> {
    Box::pin(failover_run()).await
}

async fn failover_run() -> anyhow::Result<()> {
    let pair = tokio::task::spawn_blocking(ReplicaPair::start).await??;
    let (primary, standby) = (pair.primary_port(), pair.standby_port());

    let writes = Pool::connect(
        &config(&pair, &[primary, standby])
            .target_session_attrs(TargetSessionAttrs::ReadWrite)
            .retry_attempts(200)
            .retry_base_delay(Duration::from_millis(20))
            .retry_max_delay(Duration::from_millis(200))
            .retry_budget(Duration::from_secs(60))
            .acquire_timeout(Duration::from_secs(60))
            .build()?,
    )
    .await?;
    query::execute(
        &writes,
        sqlx::query("CREATE TABLE acked (id int PRIMARY KEY)"),
    )
    .await?;

    // A read-only pool on [primary, standby] prefers the standby, and reads there once the
    // table has replicated.
    let reads = Pool::connect(&config(&pair, &[primary, standby]).build()?.for_replicas()).await?;
    assert!(
        in_recovery(&reads).await?,
        "the read pool is on the standby"
    );
    common::eventually("the table reaches the standby", common::SOON, async || {
        query::fetch_one(
            &reads,
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM acked"),
        )
        .await
        .is_ok()
    })
    .await;
    let err = query::execute(&reads, sqlx::query("INSERT INTO acked VALUES (-1)"))
        .await
        .unwrap_err();
    assert_eq!(err.sqlstate(), Some("25006"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Permanent, "{err}");
    reads.close().await;

    // Asking for a primary among the standby and a closed port: every host named, with why.
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port(); // dropped at once: nothing listens there
    let err = Pool::connect(
        &config(&pair, &[standby, closed])
            .target_session_attrs(TargetSessionAttrs::Primary)
            .retry_attempts(1)
            .build()?,
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("target_session_attrs=primary")
            && text.contains(&format!("127.0.0.1:{standby}: is a standby"))
            && text.contains(&format!("127.0.0.1:{closed}: ")),
        "{text}"
    );
    assert_eq!(err.kind(), ErrorKind::Transient, "{text}");

    // Writes run one after another; after the 10th the writer waits until the primary has
    // stopped, then goes on while the standby is promoted (so the writes span the failover
    // however fast or slow this machine is).
    const TOTAL: i32 = 30;
    const BEFORE: i32 = 10;
    let (progress, mut seen) = tokio::sync::watch::channel(0i32);
    let (stopped_tx, mut stopped) = tokio::sync::watch::channel(false);
    let writer = async {
        let mut acked = Vec::new();
        let mut failed = Vec::new();
        for id in 0..TOTAL {
            let result = writes
                .transaction(TxOptions::default(), async |tx| {
                    sqlx::query("INSERT INTO acked VALUES ($1)")
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                    Ok(())
                })
                .await;
            match result {
                Ok(()) => acked.push(id),
                // A COMMIT cut by the shutdown may or may not have committed: not
                // acknowledged, never retried.
                Err(err) => failed.push((id, err.to_string())),
            }
            progress.send_replace(id + 1);
            if id + 1 == BEFORE {
                stopped
                    .wait_for(|s| *s)
                    .await
                    .expect("the failover task is running");
            }
        }
        (acked, failed)
    };
    let failover = async {
        tokio::time::timeout(common::SOON, seen.wait_for(|n| *n >= BEFORE))
            .await
            .expect("ten writes before the failover")
            .expect("the writer is running");
        let pair = &pair;
        tokio::task::block_in_place(|| pair.stop_primary())?;
        stopped_tx.send_replace(true);
        tokio::task::block_in_place(|| pair.promote_standby())
    };
    // Boxed: debug builds of these futures are large for a test thread's stack.
    let (writer, failover) = (Box::pin(writer), Box::pin(failover));
    let ((acked, failed), promoted) = tokio::time::timeout(Duration::from_secs(120), async {
        tokio::join!(writer, failover)
    })
    .await
    .expect("the writes finish within the deadline");
    promoted?;
    assert!(
        failed.len() <= 1,
        "at most the write in flight at the shutdown fails: {failed:?}"
    );
    assert!(acked.len() as i32 >= TOTAL - 1, "{acked:?}");

    // The pool reached the new primary (the promoted standby), and every acknowledged
    // write is there. An idle connection to the stopped primary fails its first use (and is
    // discarded), as with any pool: poll until a checkout lands on the new primary.
    let mut seen_there: Option<(bool, i32, Vec<i32>)> = None;
    common::eventually(
        "a checkout reaches the new primary",
        common::SOON,
        async || {
            seen_there = query::fetch_one(
                &writes,
                sqlx::query_as(
                    "SELECT pg_is_in_recovery(), inet_server_port(), \
                 coalesce(array_agg(id ORDER BY id), '{}') FROM acked",
                ),
            )
            .await
            .ok();
            seen_there.is_some()
        },
    )
    .await;
    let (recovering, port, present) = seen_there.expect("polled until seen");
    assert!(!recovering, "the pool is on a primary");
    assert_eq!(port, i32::from(standby), "the promoted standby");
    for id in &acked {
        assert!(present.contains(id), "acknowledged write {id} is missing");
    }
    writes.close().await;
    Ok(())
}
