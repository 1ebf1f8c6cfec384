//! A real SMTP server for the tests: [`SmtpSink`] runs `tools/smtp_sink.py` (aiosmtpd, from the
//! venv of [`crate::python`]) on a free port of 127.0.0.1 and keeps every message it accepts as a
//! file, so a test can point the app at [`SmtpSink::url`], then [`SmtpSink::wait_for`] the mail and
//! [`ReceivedMail::read`] it with Python's `email` package (`tools/read_mail.py`).
//!
//! ```text
//! let sink = SmtpSink::start(Mode::Accept).await;
//! // ... start the app with sink.url() as its SMTP relay, book a session ...
//! let mail = sink.wait_for(1, Duration::from_secs(10)).await;
//! let read = mail[0].read();
//! assert_eq!(read["calendar_method"], "REQUEST");
//! assert_eq!(read["calendar"]["events"][0]["attendees"], json!(["mailto:ann@example.org"]));
//! ```

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::python::{tool, venv_python};

/// How the sink answers, chosen at start and changeable with [`SmtpSink::set_mode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 250 to everything; each message is kept.
    Accept,
    /// As `Accept`, but the 250 after a message's DATA comes 6 s late (a slow relay).
    Slow,
    /// 451 (try again later) to MAIL, and to DATA if the switch came mid-transaction.
    TempFail,
    /// 550 (refused for good) likewise.
    PermFail,
    /// Reads the message to its final dot, then cuts the connection (TCP reset) without answering.
    Drop,
    /// Reads the message, then withholds the answer for as long as the mode stays `Hold` (a
    /// relay that stalls mid-send); [`SmtpSink::wait_until_holding`] waits for that.
    Hold,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Accept => "accept",
            Mode::Slow => "slow",
            Mode::TempFail => "tempfail",
            Mode::PermFail => "permfail",
            Mode::Drop => "drop",
            Mode::Hold => "hold",
        }
    }
}

/// One message the sink accepted.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    /// The DATA bytes as sent (dot-unstuffed, CRLF line ends kept).
    pub raw: Vec<u8>,
    /// The envelope sender (MAIL FROM), `""` for a null sender.
    pub mail_from: String,
    /// The envelope recipients (RCPT TO), in order.
    pub rcpt_to: Vec<String>,
    /// The `.eml` file holding `raw` (removed with the sink, unless a test panicked).
    pub path: PathBuf,
}

impl ReceivedMail {
    /// Reads the message with Python's `email` package (see `tools/read_mail.py` for the JSON);
    /// fails the test, with the reader's reason and the message, if it is not sound MIME or its
    /// calendar part fails the checks of `tools/check_ics.py`.
    pub fn read(&self) -> Value {
        self.try_read().unwrap_or_else(|reason| {
            panic!(
                "Python's email package refused the message: {reason}\n--- message ---\n{}",
                String::from_utf8_lossy(&self.raw)
            )
        })
    }

    /// [`ReceivedMail::read`], giving the reader's reason instead of failing the test.
    pub fn try_read(&self) -> Result<Value, String> {
        let python = venv_python();
        let mut scratch = None;
        let file = if self.path.exists() {
            self.path.clone()
        } else {
            let dir = std::env::temp_dir().join(format!("convene-mail-{}", rand::random::<u64>()));
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join("message.eml");
            std::fs::write(&file, &self.raw).unwrap();
            scratch = Some(dir);
            file
        };
        let output = Command::new(python)
            .arg(tool("read_mail.py"))
            .arg(&file)
            .output()
            .unwrap();
        if let Some(dir) = scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
        if output.status.success() {
            Ok(serde_json::from_slice(&output.stdout).unwrap())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout)
            ))
        }
    }

    /// The first `Subject:` header line as written (still encoded), for messages about failures.
    fn subject_line(&self) -> String {
        let head = self.raw.split(|&b| b == b'\n').take_while(|line| line.len() > 1);
        head.map(String::from_utf8_lossy)
            .find(|line| line.to_ascii_lowercase().starts_with("subject:"))
            .map_or_else(|| "(no subject)".to_owned(), |line| line.trim_end().to_owned())
    }
}

/// A running SMTP server on 127.0.0.1, stopped (and its folder removed) on drop.
pub struct SmtpSink {
    port: u16,
    dir: PathBuf,
    child: Mutex<Child>,
    arrived: Mutex<Vec<ReceivedMail>>,
}

impl SmtpSink {
    /// Starts a sink answering as `mode`, on a free port. Fails the test with the reason if Python
    /// or aiosmtpd cannot be had or the server does not come up within a minute.
    pub async fn start(mode: Mode) -> SmtpSink {
        let dir = std::env::temp_dir().join(format!("convene-smtp-{}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let spawn_dir = dir.clone();
        let (child, stdout) = tokio::task::spawn_blocking(move || {
            let python = venv_python();
            let log = std::fs::File::create(spawn_dir.join("sink.log")).unwrap();
            let mut child = Command::new(&python)
                .arg(tool("smtp_sink.py"))
                .arg(&spawn_dir)
                .args(["--port", "0", "--mode", mode.name()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {} for the SMTP sink: {e}", python.display()));
            let stdout = child.stdout.take().unwrap();
            (child, stdout)
        })
        .await
        .unwrap();
        let mut sink = SmtpSink {
            port: 0,
            dir,
            child: Mutex::new(child),
            arrived: Mutex::new(Vec::new()),
        };
        let first_line = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line)
            }),
        )
        .await;
        let line = match first_line {
            Ok(Ok(Ok(line))) => line,
            Ok(Ok(Err(e))) => panic!("reading the SMTP sink's port: {e}\n{}", sink.log()),
            Ok(Err(e)) => panic!("reading the SMTP sink's port: {e}"),
            Err(_) => panic!("the SMTP sink did not say its port within a minute\n{}", sink.log()),
        };
        let Some(port) = line.trim().strip_prefix("PORT ").and_then(|p| p.parse().ok()) else {
            // Dropping `sink` stops the server; wait for it so the log is whole.
            let _ = sink.child.lock().unwrap().wait();
            panic!(
                "the SMTP sink (tools/smtp_sink.py) did not start: it said {line:?}\n{}",
                sink.log()
            );
        };
        sink.port = port;
        sink
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder holding the messages (`000001.eml` and `000001.json`, ...), its `mode` and `sink.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Answers as `mode` from the next MAIL (or end of DATA) on, on every connection.
    pub fn set_mode(&self, mode: Mode) {
        let part = self.dir.join("mode.part");
        std::fs::write(&part, mode.name()).unwrap();
        std::fs::rename(&part, self.dir.join("mode")).unwrap();
    }

    /// How many messages the sink has held (in [`Mode::Hold`]) so far, released or not.
    pub fn held(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("held-"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Waits until the sink holds at least `n` messages mid-send; fails the test after `timeout`.
    pub async fn wait_until_holding(&self, n: usize, timeout: Duration) {
        let start = Instant::now();
        while self.held() < n {
            assert!(
                start.elapsed() < timeout,
                "the SMTP sink held {} messages, not {n}, within {timeout:?}\n{}",
                self.held(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Reads the messages that arrived since the last look; returns how many there are in all.
    fn refresh(&self) -> usize {
        let mut arrived = self.arrived.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let stem = format!("{:06}", arrived.len() + 1);
            let path = self.dir.join(format!("{stem}.eml"));
            // The sink renames the .json into place before the .eml: one seen means both are whole.
            let raw = match std::fs::read(&path) {
                Ok(raw) => raw,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => panic!("reading {}: {e}", path.display()),
            };
            let envelope: Value =
                serde_json::from_slice(&std::fs::read(self.dir.join(format!("{stem}.json"))).unwrap())
                    .unwrap_or_else(|e| panic!("the envelope of {stem}: {e}"));
            let mail_from = envelope["mail_from"].as_str().unwrap_or_default().to_owned();
            let rcpt_to = envelope["rcpt_to"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_owned())
                .collect();
            arrived.push(ReceivedMail {
                raw,
                mail_from,
                rcpt_to,
                path,
            });
        }
        arrived.len()
    }

    /// The messages that have arrived so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.refresh();
        self.arrived.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until at least `n` messages have arrived, then returns all of them. Fails the test,
    /// naming what did arrive, after `timeout`, or at once if the server has died.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let start = Instant::now();
        loop {
            if self.refresh() >= n {
                return self.messages();
            }
            let exited = self.child.lock().unwrap_or_else(|e| e.into_inner()).try_wait().unwrap();
            if let Some(status) = exited {
                panic!("the SMTP sink exited ({status}) while waiting for mail\n{}", self.log());
            }
            if start.elapsed() >= timeout {
                let arrived = self.messages();
                let listed: Vec<String> = arrived
                    .iter()
                    .take(20)
                    .map(|m| format!("  from <{}> to {:?}: {}", m.mail_from, m.rcpt_to, m.subject_line()))
                    .collect();
                panic!(
                    "expected at least {n} messages within {timeout:?}; {} arrived{}\n{}\n{}",
                    arrived.len(),
                    if arrived.len() > listed.len() {
                        " (the first 20:)"
                    } else {
                        ":"
                    },
                    listed.join("\n"),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The server's own log (aiosmtpd's warnings, a Python traceback), for failure messages.
    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("sink.log")).unwrap_or_default();
        if log.trim().is_empty() {
            "(the sink's log is empty)".to_owned()
        } else {
            format!("--- the sink's log ---\n{log}")
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
        if std::thread::panicking() {
            eprintln!("the SMTP sink's mail is kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use serde_json::json;

    use super::{Mode, SmtpSink};

    /// A bare SMTP client over a blocking socket: enough to drive the sink by hand.
    struct Client {
        reader: BufReader<TcpStream>,
        writer: TcpStream,
    }

    impl Client {
        fn connect(sink: &SmtpSink) -> Client {
            let stream = TcpStream::connect(("127.0.0.1", sink.port())).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            stream.set_nodelay(true).unwrap();
            let mut client = Client {
                reader: BufReader::new(stream.try_clone().unwrap()),
                writer: stream,
            };
            assert_eq!(client.reply().unwrap().0, 220);
            assert_eq!(client.command("EHLO convene.test").0, 250);
            client
        }

        /// The next reply: its code and its text, the lines of a multi-line reply joined; `None`
        /// if the server closed the connection instead.
        fn reply(&mut self) -> Option<(u16, String)> {
            let mut text = String::new();
            loop {
                let mut line = String::new();
                match self.reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
                text.push_str(&line);
                if line.as_bytes().get(3) != Some(&b'-') {
                    return Some((line[..3].parse().unwrap(), text));
                }
            }
        }

        fn command(&mut self, line: &str) -> (u16, String) {
            self.writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
            self.reply()
                .unwrap_or_else(|| panic!("the connection closed after {line}"))
        }

        /// One transaction: the first refusal's code, or the answer to the final dot (`None` if
        /// the connection was cut instead).
        fn send(&mut self, from: &str, to: &[&str], message: &[u8]) -> Option<u16> {
            let (code, _) = self.command(&format!("MAIL FROM:<{from}>"));
            if code != 250 {
                return Some(code);
            }
            for rcpt in to {
                let (code, _) = self.command(&format!("RCPT TO:<{rcpt}>"));
                if code != 250 {
                    return Some(code);
                }
            }
            let (code, _) = self.command("DATA");
            if code != 354 {
                return Some(code);
            }
            let mut data = Vec::with_capacity(message.len() + 64);
            for line in message.split_inclusive(|&b| b == b'\n') {
                if line.starts_with(b".") {
                    data.push(b'.');
                }
                data.extend_from_slice(line);
            }
            data.extend_from_slice(b".\r\n");
            if self.writer.write_all(&data).is_err() {
                return None;
            }
            self.reply().map(|(code, _)| code)
        }
    }

    const CALENDAR: &str = "BEGIN:VCALENDAR\r\n\
        VERSION:2.0\r\n\
        PRODID:-//Convene//Tests//EN\r\n\
        METHOD:REQUEST\r\n\
        BEGIN:VEVENT\r\n\
        UID:session-7@convene.test\r\n\
        DTSTAMP:20270101T090000Z\r\n\
        DTSTART:20270320T093000Z\r\n\
        DTEND:20270320T120000Z\r\n\
        SEQUENCE:2\r\n\
        SUMMARY:Gweithdy — Caf\u{e9}\r\n\
        ORGANIZER;CN=Convene:mailto:noreply@convene.test\r\n\
        ATTENDEE;CN=Ann Jones;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:\r\n mailto:ann@example.org\r\n\
        END:VEVENT\r\n\
        END:VCALENDAR\r\n";

    fn invitation(to: &str, n: usize) -> Vec<u8> {
        format!(
            "From: Convene <noreply@convene.test>\r\n\
             To: Ann Jones <{to}>\r\n\
             Subject: =?UTF-8?Q?Invitation=3A_Caf=C3=A9_{n}?=\r\n\
             Date: Sat, 20 Mar 2027 09:00:00 +0000\r\n\
             Message-ID: <invite-{n}@convene.test>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
             \r\n\
             --outer\r\n\
             Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
             \r\n\
             --inner\r\n\
             Content-Type: text/plain; charset=UTF-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\
             \r\n\
             You are booked: Caf\u{e9}.\r\n\
             .A line that starts with a dot.\r\n\
             --inner\r\n\
             Content-Type: text/html; charset=UTF-8\r\n\
             Content-Transfer-Encoding: 8bit\r\n\
             \r\n\
             <p>You are booked: Caf\u{e9}.</p>\r\n\
             --inner\r\n\
             Content-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n\
             Content-Transfer-Encoding: 8bit\r\n\
             \r\n\
             {CALENDAR}\
             --inner--\r\n\
             --outer--\r\n"
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn an_invitation_arrives_whole_and_reads_as_mime_with_its_calendar() {
        let sink = SmtpSink::start(Mode::Accept).await;
        assert!(sink.url().starts_with("smtp://127.0.0.1:"), "{}", sink.url());
        let message = invitation("ann@example.org", 1);
        let mut client = Client::connect(&sink);
        assert_eq!(
            client.send("bounces@convene.test", &["ann@example.org", "cc@example.org"], &message),
            Some(250)
        );
        let mail = sink.wait_for(1, Duration::from_secs(10)).await;
        assert_eq!(mail.len(), 1);
        assert_eq!(mail[0].raw, message, "the bytes as sent, dot-unstuffed");
        assert_eq!(mail[0].mail_from, "bounces@convene.test");
        assert_eq!(mail[0].rcpt_to, ["ann@example.org", "cc@example.org"]);
        assert!(mail[0].path.ends_with("000001.eml"));

        let read = mail[0].read();
        assert_eq!(read["from"], "Convene <noreply@convene.test>");
        assert_eq!(read["to"], json!(["ann@example.org"]));
        assert_eq!(read["subject"], "Invitation: Café 1");
        assert_eq!(read["message_id"], "<invite-1@convene.test>");
        assert_eq!(read["date_utc"], "2027-03-20T09:00:00Z");
        assert_eq!(
            read["structure"],
            json!([
                "multipart/mixed",
                [["multipart/alternative", ["text/plain", "text/html", "text/calendar"]]]
            ])
        );
        assert_eq!(read["text"], "You are booked: Café.\r\n.A line that starts with a dot.");
        assert_eq!(read["html"], "<p>You are booked: Café.</p>");
        assert_eq!(
            read["calendar_content_type"],
            "text/calendar; charset=UTF-8; method=REQUEST"
        );
        assert_eq!(read["calendar_method"], "REQUEST");
        assert_eq!(read["calendar_charset"], "UTF-8");
        assert_eq!(read["calendar"]["method"], "REQUEST");
        let event = &read["calendar"]["events"][0];
        assert_eq!(event["uid"], "session-7@convene.test");
        assert_eq!(event["summary"], "Gweithdy — Café");
        assert_eq!(event["sequence"], 2);
        assert_eq!(event["dtstart"], "2027-03-20T09:30:00Z");
        assert_eq!(event["organizer"], "mailto:noreply@convene.test");
        assert_eq!(event["attendees"], json!(["mailto:ann@example.org"]));
        assert_eq!(event["attendee_params"][0]["rsvp"], "TRUE");
        assert_eq!(event["attendee_params"][0]["cn"], "Ann Jones");
        crate::itip::itip_check(CALENDAR.as_bytes()).unwrap();
        assert_eq!(client.command("QUIT").0, 221);
    }

    #[tokio::test]
    async fn the_reader_refuses_broken_mime_and_a_broken_calendar() {
        let sink = SmtpSink::start(Mode::Accept).await;
        let good = String::from_utf8(invitation("ann@example.org", 1)).unwrap();
        let broken = [
            good.replace("MIME-Version: 1.0\r\n", ""),
            good.replace("--inner--\r\n", ""),
            good.replace("Content-Transfer-Encoding: 8bit", "Content-Transfer-Encoding: 7bit"),
            good.replace("DTSTART:20270320T093000Z\r\n", "DTSTART:20270320T093000Z\n"),
            good.replace("SUMMARY:", &format!("SUMMARY:{}", "x".repeat(80))),
        ];
        let mut client = Client::connect(&sink);
        for message in &broken {
            assert_eq!(
                client.send("a@convene.test", &["b@example.org"], message.as_bytes()),
                Some(250)
            );
        }
        let mail = sink.wait_for(broken.len(), Duration::from_secs(10)).await;
        let reasons: Vec<String> = mail.iter().map(|m| m.try_read().expect_err("refused")).collect();
        assert!(reasons[0].contains("MIME-Version"), "{}", reasons[0]);
        assert!(reasons[1].contains("defects"), "{}", reasons[1]);
        assert!(reasons[2].contains("8-bit"), "{}", reasons[2]);
        assert!(reasons[3].contains("bare CR or LF"), "{}", reasons[3]);
        assert!(reasons[4].contains("more than 75"), "{}", reasons[4]);
    }

    #[tokio::test]
    async fn tempfail_permfail_and_drop_refuse_and_a_switch_to_accept_lets_mail_through() {
        let sink = SmtpSink::start(Mode::TempFail).await;
        let message = invitation("ann@example.org", 1);
        let mut client = Client::connect(&sink);
        assert_eq!(client.send("a@convene.test", &["ann@example.org"], &message), Some(451));
        assert_eq!(client.command("RSET").0, 250);

        sink.set_mode(Mode::PermFail);
        assert_eq!(client.send("a@convene.test", &["ann@example.org"], &message), Some(550));
        assert_eq!(client.command("RSET").0, 250);

        // A switch between MAIL and DATA is answered at the final dot.
        sink.set_mode(Mode::Accept);
        assert_eq!(client.command("MAIL FROM:<a@convene.test>").0, 250);
        assert_eq!(client.command("RCPT TO:<ann@example.org>").0, 250);
        sink.set_mode(Mode::TempFail);
        assert_eq!(client.command("DATA").0, 354);
        client.writer.write_all(b"Subject: late\r\n\r\nbody\r\n.\r\n").unwrap();
        assert_eq!(client.reply().unwrap().0, 451);

        sink.set_mode(Mode::Accept);
        assert_eq!(client.send("a@convene.test", &["ann@example.org"], &message), Some(250));
        assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await.len(), 1);

        sink.set_mode(Mode::Drop);
        assert_eq!(client.send("a@convene.test", &["ann@example.org"], &message), None);
        let mut rest = Vec::new();
        let closed = client.reader.read_to_end(&mut rest);
        assert!(closed.is_err() || rest.is_empty(), "no answer after the cut: {rest:?}");

        // A new connection after the switch back is served, and only accepted mail was kept.
        sink.set_mode(Mode::Accept);
        let mut client = Client::connect(&sink);
        assert_eq!(client.send("a@convene.test", &["ann@example.org"], &message), Some(250));
        let mail = sink.wait_for(2, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(sink.messages().len(), 2, "refused and dropped mail is not kept");
        assert_eq!(mail[1].raw, message);
    }

    #[tokio::test]
    async fn a_thousand_messages_over_one_connection_arrive_in_order() {
        const N: usize = 1000;
        let sink = SmtpSink::start(Mode::Accept).await;
        let messages: Vec<Vec<u8>> = (0..N).map(|n| invitation(&format!("p{n}@example.org"), n)).collect();
        let port = sink.port();
        let started = Instant::now();
        let sent = tokio::task::spawn_blocking(move || {
            let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
            stream.set_nodelay(true).unwrap();
            let mut client = Client {
                reader: BufReader::new(stream.try_clone().unwrap()),
                writer: stream,
            };
            assert_eq!(client.reply().unwrap().0, 220);
            assert_eq!(client.command("EHLO convene.test").0, 250);
            for (n, message) in messages.iter().enumerate() {
                assert_eq!(
                    client.send("a@convene.test", &[&format!("p{n}@example.org")], message),
                    Some(250)
                );
            }
            client.command("QUIT");
        });
        sent.await.unwrap();
        let mail = sink.wait_for(N, Duration::from_secs(60)).await;
        let took = started.elapsed();
        eprintln!(
            "{N} messages over one connection in {took:.2?} ({:.0} a second)",
            N as f64 / took.as_secs_f64()
        );
        assert_eq!(mail.len(), N);
        for (n, m) in mail.iter().enumerate() {
            assert_eq!(m.rcpt_to, [format!("p{n}@example.org")], "arrival order");
        }
        assert_eq!(mail[N - 1].read()["to"], json!([format!("p{}@example.org", N - 1)]));
    }
}
