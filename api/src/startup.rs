//! Building the application: connect, migrate, bind, and wire the routes and middleware.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, watch};

use actix_web::dev::{Server, Service as _};
use actix_web::http::Method;
use actix_web::middleware::{ErrorHandlers, NormalizePath, TrailingSlash, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use sea_orm::{DatabaseConnection, DbErr};
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder, TracingLogger};
use utoipa::OpenApi as _;
use utoipa_swagger_ui::SwaggerUi;

use crate::cache::{ResponseCache, Unchanged};
use crate::clock::Clock;
use crate::config::{Settings, host_of};
use crate::domain::feed::FeedSite;
use crate::domain::keys::KeyCache;
use crate::domain::sign_in::{SignInQueue, SignInRequests};
use crate::error::{ApiError, problem_for_any_error};
use crate::extract::{JsonLimit, path_error};
use crate::ical::Person;
use crate::metrics::{Metrics, RequestLabels};
use crate::openapi::ApiDoc;
use crate::protection::{self, Protection};
use crate::state::AppState;
use crate::worker::{RequestLoad, Worker};
use crate::{db, routes};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The address could not be bound.
    #[error("could not listen: {0}")]
    Io(#[from] std::io::Error),
    /// The mail settings cannot be used.
    #[error("mail: {0}")]
    Mail(String),
    /// A protection setting (rate limit, CORS) cannot be used.
    #[error("settings: {0}")]
    Settings(String),
}

/// Every request's span, which every event logged while answering it is printed with: as
/// tracing-actix-web's default, but naming the request by its method (from a closed set, see
/// [`crate::metrics::method_label`]) and matched route pattern only. Its path and query are left
/// out, because paths carry secrets (`/s/{token}`, `/ical/p/{token}.ics`, `/p/auth/{token}`);
/// so are the client's address and user agent, which the log does not need.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        let method = crate::metrics::method_label(request.method());
        let request_id = actix_web::HttpMessage::extensions(request).get::<RequestId>().copied();
        tracing::info_span!(
            "HTTP request",
            http.method = %method,
            http.route = %route,
            http.status_code = tracing::field::Empty,
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id.map(|id| id.to_string()).unwrap_or_default(),
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// What feeds and invitations say about the service.
pub fn feed_site(settings: &Settings, public_url: &str) -> FeedSite {
    FeedSite {
        public_url: public_url.to_owned(),
        host: host_of(public_url),
        organiser: Person {
            email: settings.mail_from_for(public_url),
            name: Some(settings.mail_from_name.clone()),
        },
    }
}

/// A bound, not yet running, server.
pub struct Application {
    port: u16,
    public_url: String,
    db: DatabaseConnection,
    server: Server,
    worker: Option<Worker>,
    protection: Protection,
    wake: Arc<Notify>,
    sign_in: SignInQueue,
}

impl Application {
    /// Connects to and migrates the configured database, then binds the configured address.
    pub async fn build(settings: &Settings) -> Result<Self, StartError> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// As [`Application::build`], reading the time from `clock` (a test's, which it can move on).
    pub async fn build_with_clock(settings: &Settings, clock: Clock) -> Result<Self, StartError> {
        let db = db::connect(&settings.database_url, settings.background_pool_size()).await?;
        db::migrate(&db, &settings.database_url).await?;
        Self::build_with_db(settings, db, clock)
    }

    /// Binds the configured address over an already migrated database.
    pub fn build_with_db(settings: &Settings, db: DatabaseConnection, clock: Clock) -> Result<Self, StartError> {
        let listener = TcpListener::bind(&settings.bind)?;
        let address = listener.local_addr()?;
        let public_url = settings.public_url_for(address);
        let wake = Arc::new(Notify::new());
        let site = feed_site(settings, &public_url);
        let metrics = Arc::new(Metrics::new());
        let load = Arc::new(RequestLoad::default());
        let worker = if settings.worker {
            // A pool of its own, opened from the worker's thread when first used (on SQLite, the
            // shared one: sqlx runs SQLite connections on threads of their own anyway).
            let pool = db::worker_pool(&db, &settings.database_url, crate::config::WORKER_CONNECTIONS);
            Some(
                Worker::new(
                    pool,
                    settings,
                    site.clone(),
                    wake.clone(),
                    metrics.clone(),
                    load.clone(),
                    clock.clone(),
                )
                .map_err(StartError::Mail)?,
            )
        } else {
            None
        };
        let feeds = Arc::new(ResponseCache::new(
            settings.response_cache_bytes,
            settings.response_cache_entries,
        ));
        metrics.register_cache(&feeds);
        let protection = Protection::from_settings(settings).map_err(StartError::Settings)?;
        let (sign_in, sign_in_queue) = SignInRequests::new(metrics.clone());
        let shared = AppState {
            db: db.clone(),
            public_url: public_url.clone(),
            metrics,
            site,
            feeds,
            wake: wake.clone(),
            keys: Arc::new(KeyCache::default()),
            load,
            bot_limits: protection.bot_limits.clone(),
            sign_in,
            clock,
        };
        // Each HTTP worker thread gets its share of the pool, opened from that thread (see
        // `db::worker_pool`).
        let workers = crate::config::http_workers();
        let worker_pool_size = settings.pool_size().div_ceil(workers as u32);
        let (shared_db, url) = (db.clone(), settings.database_url.clone());
        let openapi = ApiDoc::openapi();
        let cors_origins = settings.cors_origins();
        let json_limit = protection.json_limit;
        let routes_protection = protection.clone();
        let server = HttpServer::new(move || {
            let protection = routes_protection.clone();
            let state = web::Data::new(AppState {
                db: db::worker_pool(&shared_db, &url, worker_pool_size),
                ..shared.clone()
            });
            App::new()
                // CORS inside the problem rewriter: its refusals become problem+json, and the
                // rewriter keeps the CORS headers it put on error responses.
                .wrap(protection::cors(&cors_origins))
                .wrap(ErrorHandlers::new().default_handler(problem_for_any_error))
                .wrap_fn(|req, srv| {
                    let started = Instant::now();
                    let in_flight = req.app_data::<web::Data<AppState>>().map(|s| s.load.begin());
                    let method = req.method().clone();
                    let state = req.app_data::<web::Data<AppState>>().cloned();
                    let writes = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
                    let response = srv.call(req);
                    async move {
                        let response = response.await;
                        drop(in_flight);
                        let response = response?;
                        let Some(state) = state else {
                            return Ok(response);
                        };
                        let unchanged = response.response().extensions().get::<Unchanged>().is_some();
                        if writes && response.status().is_success() && !unchanged {
                            // After the handler, so after its commit: feeds built before now are
                            // stale, and any message it queued can go. A refused or failed write
                            // changed nothing, so a stream of them keeps the cache and the worker
                            // as they were.
                            state.feeds.bump();
                            state.wake.notify_one();
                        }
                        let labels =
                            RequestLabels::new(response.request().match_pattern(), &method, response.status().as_u16());
                        state.metrics.observe(labels, started.elapsed().as_secs_f64());
                        Ok(response)
                    }
                })
                .wrap(TracingLogger::<RequestSpan>::new())
                .wrap(from_fn(protection::security_headers))
                .wrap(NormalizePath::new(TrailingSlash::MergeOnly))
                .app_data(state.clone())
                .app_data(web::PayloadConfig::new(json_limit))
                .app_data(JsonLimit(json_limit))
                .app_data(web::PathConfig::default().error_handler(path_error))
                .configure(|cfg| routes::configure(cfg, &protection))
                .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", openapi.clone()))
                .route(
                    "/docs",
                    web::get().to(|| async { HttpResponse::Found().insert_header(("Location", "/docs/")).finish() }),
                )
                .default_service(web::to(|req: actix_web::HttpRequest| async move {
                    Err::<HttpResponse, _>(ApiError::not_found(format!("no resource at {}", req.path())))
                }))
        })
        .workers(workers)
        .shutdown_timeout(settings.shutdown_timeout_seconds)
        .listen(listener)?
        .run();
        Ok(Self {
            port: address.port(),
            public_url,
            db,
            server,
            worker,
            protection,
            wake,
            sign_in: sign_in_queue,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL people reach the service at.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The database pool the server uses.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Serves until the process is told to stop (SIGINT or SIGTERM finish in-flight requests
    /// first), with the notifications worker beside it; the worker then finishes the message in
    /// hand and gives back the rest of its claim.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.protection.rate_limit.spawn_cleanup();
        self.protection.bot_limits.spawn_cleanup();
        tokio::spawn(
            self.sign_in
                .carry_out(self.db.clone(), self.public_url.clone(), self.wake),
        );
        let Some(worker) = self.worker else {
            return self.server.await;
        };
        // Polled once first, the server starts and takes over SIGTERM and Ctrl-C; only then does
        // the worker start on its thread, so a signal from then on (one sent as soon as the
        // worker says it started) stops the server gracefully instead of killing the process.
        let mut server = std::pin::pin!(self.server);
        let early = tokio::select! {
            biased;
            served = &mut server => Some(served),
            () = std::future::ready(()) => None,
        };
        if let Some(served) = early {
            return served;
        }
        let (stop, stopped) = watch::channel(false);
        let worker = std::thread::Builder::new()
            .name("convene-worker".to_owned())
            .spawn(move || run_worker_yielding(worker, stopped))?;
        let served = server.await;
        let _ = stop.send(true);
        let _ = tokio::task::spawn_blocking(move || worker.join()).await;
        served
    }
}

/// How much lower than the HTTP workers' the notifications worker's CPU priority is, on
/// `thread_priority`'s scale of 0 to 99 (a normal thread is 50): 22 is a nice value of 10 on
/// Linux, which its scheduler weighs at about a tenth of a normal thread's. When the cores are
/// busy with requests the worker gets that share and mail lags; when they are not, it gets all
/// it asks for.
const WORKER_PRIORITY: u8 = 22;

/// Runs the notifications worker on this thread, with a runtime of its own, at a lower CPU
/// priority than the threads answering requests: request handling comes first. Should the
/// priority not be settable (a platform without nice values), it runs at the normal one.
fn run_worker_yielding(worker: Worker, stopped: watch::Receiver<bool>) {
    let lowered = thread_priority::ThreadPriorityValue::try_from(WORKER_PRIORITY)
        .map_err(|e| e.to_string())
        .and_then(|value| {
            thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Crossplatform(value))
                .map_err(|e| format!("{e:?}"))
        });
    if let Err(error) = lowered {
        tracing::warn!(%error, "the notifications worker runs at the normal CPU priority");
    }
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(worker.run(stopped)),
        Err(err) => tracing::error!(error = %err, "the notifications worker could not start"),
    }
}

impl Application {
    /// The notifications worker this server runs beside it, if any.
    pub fn worker(&self) -> Option<&Worker> {
        self.worker.as_ref()
    }
}
