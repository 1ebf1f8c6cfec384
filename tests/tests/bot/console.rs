//! `convene-bot --console --as <id>`: commands piped in, replies printed, exit 0 at the end.

use std::process::Stdio;

use convene_tests::{TestApp, convene_bot_binary, json, spawn_apps};
use tokio::io::AsyncWriteExt as _;

/// Runs the console with `lines` on stdin; returns (exit code, stdout, stderr).
async fn console(app: &TestApp, bot: &str, user: &str, lines: &str) -> (i32, String, String) {
    let mut child = tokio::process::Command::new(convene_bot_binary())
        .args(["--console", "--as", user])
        .env_clear()
        .env("CONVENE_API_URL", &app.address)
        .env("CONVENE_BOT_KEY", bot)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("convene-bot starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines.as_bytes()).await.unwrap();
    drop(stdin);
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the console finishes at the end of its input")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_console_runs_piped_commands_in_order_and_exits_zero_even_after_a_refusal() {
    for app in spawn_apps().await {
        let bot = app.bot_key().await;
        let session = app.open_session(1, json!({"label": "Workshop B"})).await;
        let first = app.create_participant(json!({})).await;
        assert_eq!(
            app.book(&session["id"], first["id"].as_i64().unwrap()).await.json()["status"],
            "confirmed"
        );
        let ann = app.create_participant(json!({"name": "Ann Jones"})).await;
        let email = ann["email"].as_str().unwrap();

        let (code, out, err) = console(&app, &bot, "31337", &format!("/link {email}\n")).await;
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("a six-digit code is on its way"), "{out}");
        let link_code = app.link_code_for(ann["id"].as_i64().unwrap()).await;

        let script = format!(
            "/verify {link_code}\n/events\n/book {session}\n/mybookings\n/frobnicate\n/book {session}\n",
            session = session["id"]
        );
        let (code, out, err) = console(&app, &bot, "31337", &script).await;
        assert_eq!(code, 0, "{err}");
        let replies: Vec<&str> = out.split("\n\n").filter(|r| !r.trim().is_empty()).collect();
        assert_eq!(replies.len(), 6, "one reply per command: {out}");
        assert!(replies[0].starts_with("Welcome, Ann Jones!"), "{}", replies[0]);
        assert!(
            replies[1].contains("Workshop B") && replies[1].contains("full, waitlist open"),
            "{}",
            replies[1]
        );
        assert!(
            replies[2].starts_with("That session is full — you are number 1 on the waitlist"),
            "{}",
            replies[2]
        );
        let booking: i64 = replies[2]
            .lines()
            .find_map(|l| l.strip_prefix("Booking "))
            .and_then(|n| n.trim_end_matches('.').parse().ok())
            .unwrap_or_else(|| panic!("a booking number: {}", replies[2]));
        assert!(
            replies[2].contains(&format!("[Leave the waitlist: /cancel {booking}]")),
            "{}",
            replies[2]
        );
        assert!(replies[3].contains("number 1 on the waitlist"), "{}", replies[3]);
        assert_eq!(replies[4], "I don't know /frobnicate. Try /help.");
        assert!(
            replies[5].starts_with("You're already on the waitlist"),
            "{}",
            replies[5]
        );

        let (code, out, _) = console(
            &app,
            &bot,
            "31337",
            &format!("/cancel {booking}\n/cancel {booking}x\n/help\n"),
        )
        .await;
        assert_eq!(code, 0);
        assert!(out.contains("Cancelled: **Summer conference — Workshop B**"), "{out}");
        assert!(out.contains("Give the booking number"), "{out}");
        assert!(out.contains("`/book <session>`"), "{out}");
        assert_eq!(app.count("bookings WHERE status = 'waitlisted'").await, 0);
    }
}

#[tokio::test]
async fn the_bot_without_its_settings_says_which_are_missing() {
    let out = std::process::Command::new(convene_bot_binary())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CONVENE_BOT_KEY is not set") && err.contains("DISCORD_TOKEN is not set"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let out = std::process::Command::new(convene_bot_binary())
        .args(["--console", "--as", "123"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONVENE_BOT_KEY is not set"));
    let out = std::process::Command::new(convene_bot_binary())
        .env_clear()
        .envs([
            ("CONVENE_BOT_KEY", "k"),
            ("DISCORD_TOKEN", "t"),
            ("CONVENE_BOT_LEASE_SECONDS", "5"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CONVENE_BOT_LEASE_SECONDS must be seconds, from 10 to 600"),
        "{err}"
    );
}
