//! A school's closed days, from its own term-dates `.ics` file or from JSON ranges.

use convene_tests::reqwest::Method;
use convene_tests::{Reply, TestApp, json, spawn_apps};

/// A local authority's term-dates file as they come: LF or CRLF, folded lines, a term-start
/// marker, an INSET day, an all-day holiday with an exclusive end, a timed closure.
const TERM_DATES: &str = "BEGIN:VCALENDAR\r\n\
VERSION:2.0\r\n\
PRODID:-//Gwynedd Council//Term Dates 2026-27//EN\r\n\
X-WR-CALNAME:Gwynedd term dates 2026/27\r\n\
BEGIN:VEVENT\r\n\
UID:autumn-start@gwynedd\r\n\
DTSTART;VALUE=DATE:20260901\r\n\
SUMMARY:Autumn term starts\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:inset-1@gwynedd\r\n\
DTSTART;VALUE=DATE:20260901\r\n\
SUMMARY:INSET day (staff training\\, no pupils)\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:half-term@gwynedd\r\n\
DTSTART;VALUE=DATE:20261026\r\n\
DTEND;VALUE=DATE:20261031\r\n\
SUMMARY:Autumn half term \r\n — Hanner tymor\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:christmas@gwynedd\r\n\
DTSTART;VALUE=DATE:20261221\r\n\
DTEND;VALUE=DATE:20270104\r\n\
SUMMARY:Christmas holiday\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\n\
UID:polling@gwynedd\r\n\
DTSTART;TZID=GMT Standard Time:20270506T080000\r\n\
DTEND;TZID=GMT Standard Time:20270506T160000\r\n\
SUMMARY:Closed: polling station\r\n\
END:VEVENT\r\n\
END:VCALENDAR\r\n";

async fn import_ics(app: &TestApp, school: &serde_json::Value, body: &str, query: &str) -> Reply {
    app.send(
        app.request(Method::POST, &format!("/v1/schools/{}/closures{query}", school["id"]))
            .header("Content-Type", "text/calendar; charset=utf-8")
            .body(body.to_owned()),
    )
    .await
}

fn ranges(list: &serde_json::Value) -> Vec<(String, String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["start_date"].as_str().unwrap().to_owned(),
                c["end_date"].as_str().unwrap().to_owned(),
                c["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_schools_term_dates_file_becomes_its_closed_days() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let reply = import_ics(&app, &school, TERM_DATES, "").await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["imported"].as_array().unwrap().len(), 4);
        assert_eq!(body["skipped"][0]["summary"], "Autumn term starts");
        assert_eq!(body["skipped"][0]["line"], 5);
        let list = app.get(&format!("/v1/schools/{}/closures", school["id"])).await;
        assert_eq!(list.status, 200);
        let list = list.json();
        assert_eq!(
            ranges(&list),
            vec![
                ("2026-09-01".into(), "2026-09-01".into(), "inset".into()),
                ("2026-10-26".into(), "2026-10-30".into(), "holiday".into()),
                ("2026-12-21".into(), "2027-01-03".into(), "holiday".into()),
                ("2027-05-06".into(), "2027-05-06".into(), "closure".into()),
            ]
        );
        assert_eq!(list[0]["summary"], "INSET day (staff training, no pupils)");
        assert_eq!(list[1]["summary"], "Autumn half term — Hanner tymor");
        assert_eq!(list[0]["source"], "ics");

        // The same file again adds nothing; `replace=true` swaps a re-issued file in.
        let again = import_ics(&app, &school, TERM_DATES, "").await.json();
        assert_eq!(again["imported"].as_array().unwrap().len(), 0);
        assert_eq!(again["already_present"], 4);
        let reissued = TERM_DATES.replace("20270104", "20270105");
        let replaced = import_ics(&app, &school, &reissued, "?replace=true").await.json();
        assert_eq!(replaced["replaced"], 4);
        let list = app
            .get(&format!(
                "/v1/schools/{}/closures?from=2026-12-01&to=2027-01-31",
                school["id"]
            ))
            .await
            .json();
        assert_eq!(
            ranges(&list),
            vec![("2026-12-21".into(), "2027-01-04".into(), "holiday".into())]
        );
    }
}

#[tokio::test]
async fn a_malformed_calendar_is_refused_naming_its_line_and_nothing_is_stored() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let cases = [
            (
                TERM_DATES.replace("DTSTART;VALUE=DATE:20261221", "DTSTART;VALUE=DATE:2026-12-21"),
                "line 24",
            ),
            (
                TERM_DATES.replace("SUMMARY:Christmas holiday", "SUMMARY Christmas holiday"),
                "line 26",
            ),
            (TERM_DATES.replace("END:VCALENDAR\r\n", ""), "line 33"),
            (TERM_DATES.replacen("END:VEVENT", "END:VTODO", 1), "line 9"),
            (
                TERM_DATES.replace("UID:christmas@gwynedd", "UID:christmas@gwynedd\r\nRRULE:FREQ=YEARLY"),
                "line 24",
            ),
            ("this is not a calendar".to_owned(), "line 1"),
        ];
        for (body, line) in cases {
            let reply = import_ics(&app, &school, &body, "").await;
            let problem = reply.problem(422, "invalid_calendar");
            assert!(problem["detail"].as_str().unwrap().contains(line), "{line}: {problem}");
            assert_eq!(reply.fields(), vec![line.to_owned()]);
        }
        assert_eq!(app.count("closures").await, 0, "all or nothing");
        let invalid_utf8 = app
            .send(
                app.request(Method::POST, &format!("/v1/schools/{}/closures", school["id"]))
                    .header("Content-Type", "text/calendar")
                    .body(vec![0xff, 0xfe, 0x00]),
            )
            .await;
        invalid_utf8.problem(422, "invalid_calendar");
        import_ics(&app, &json!({"id": 999_999}), TERM_DATES, "")
            .await
            .problem(404, "not_found");
        let pdf = app
            .send(
                app.request(Method::POST, &format!("/v1/schools/{}/closures", school["id"]))
                    .header("Content-Type", "application/pdf")
                    .body("%PDF"),
            )
            .await;
        pdf.problem(415, "unsupported_media_type");
    }
}

#[tokio::test]
async fn closures_can_be_given_as_json_ranges_and_removed_one_by_one() {
    for app in spawn_apps().await {
        let school = app.create_school(json!({})).await;
        let path = format!("/v1/schools/{}/closures", school["id"]);
        let bad = app
            .post(
                &path,
                &json!({"closures": [
                    {"start_date": "2027-02-15", "end_date": "2027-02-19", "kind": "holiday", "summary": "Half term"},
                    {"start_date": "2027-02-30"},
                    {"start_date": "2027-03-10", "end_date": "2027-03-01"},
                    {"end_date": "2027-03-01", "kind": "party"},
                ]}),
            )
            .await;
        bad.problem(422, "validation_failed");
        let mut fields = bad.fields();
        fields.sort();
        assert_eq!(
            fields,
            vec![
                "closures[1].start_date",
                "closures[2].end_date",
                "closures[3].kind",
                "closures[3].start_date"
            ]
        );
        assert_eq!(app.count("closures").await, 0);

        let reply = app
            .post(
                &path,
                &json!({"closures": [
                    {"start_date": "2027-02-15", "end_date": "2027-02-19", "kind": "holiday", "summary": "Half term"},
                    {"start_date": "2027-03-01", "kind": "blackout", "summary": "Ofsted week"},
                ]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        let imported = reply.json()["imported"].clone();
        assert_eq!(
            ranges(&imported),
            vec![
                ("2027-02-15".into(), "2027-02-19".into(), "holiday".into()),
                ("2027-03-01".into(), "2027-03-01".into(), "blackout".into()),
            ]
        );
        assert_eq!(imported[0]["source"], "json");
        let first = imported[0]["id"].clone();
        assert_eq!(app.delete(&format!("{path}/{first}")).await.status, 204);
        app.delete(&format!("{path}/{first}")).await.problem(404, "not_found");
        assert_eq!(app.get(&path).await.json().as_array().unwrap().len(), 1);
        app.get(&format!("{path}?from=tomorrow"))
            .await
            .problem(400, "invalid_query");
        app.send(app.anonymous(Method::GET, &path))
            .await
            .problem(401, "unauthorized");
        // Deleting the school takes its closures with it.
        assert_eq!(app.delete(&format!("/v1/schools/{}", school["id"])).await.status, 204);
        assert_eq!(app.count("closures").await, 0);
    }
}
