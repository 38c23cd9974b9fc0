namespace Platform.OfflineStore.Monitoring;

/// <summary>
/// Every statement the PostgreSQL monitoring store runs, in one place, so a test can plan each one generically and
/// refuse a sequential scan of a table that grows with traffic. Open bounds are coalesced, never <c>$1 IS NULL OR ...</c>.
/// </summary>
internal static class PostgresPredictionSql
{
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE predictions (
            request_id  text             NOT NULL PRIMARY KEY,
            model       text             NOT NULL,
            version     int              NOT NULL,
            symbol      text             NOT NULL,
            interval    text             NOT NULL,
            time        timestamptz      NOT NULL,
            horizon     int              NOT NULL,
            target      text             NOT NULL,
            value       double precision NOT NULL,
            received_at timestamptz      NOT NULL
        );
        CREATE INDEX predictions_series ON predictions (symbol, interval, time);
        CREATE INDEX predictions_model ON predictions (model, time, request_id);
        CREATE TABLE outcomes (
            request_id text             NOT NULL PRIMARY KEY REFERENCES predictions (request_id),
            realised   double precision NOT NULL,
            baseline_last double precision NOT NULL,
            baseline_trailing double precision NOT NULL,
            known_at   timestamptz      NOT NULL,
            joined_at  timestamptz      NOT NULL
        );
        CREATE TABLE rejected_predictions (
            event_id    text        NOT NULL PRIMARY KEY,
            reason      text        NOT NULL,
            payload     text        NOT NULL,
            rejected_at timestamptz NOT NULL
        );
        CREATE TABLE drift_events (
            event_id     text        NOT NULL PRIMARY KEY,
            model        text        NOT NULL,
            version      int         NOT NULL,
            window_start timestamptz NOT NULL,
            window_end   timestamptz NOT NULL,
            window_size  int         NOT NULL,
            evidence     jsonb       NOT NULL,
            detected_at  timestamptz NOT NULL
        );
        CREATE INDEX drift_model ON drift_events (model, window_end);
        """,
        """
        CREATE INDEX rejected_recent ON rejected_predictions (rejected_at DESC, event_id);
        """,
        // The predictions still waiting for their outcome, by series: a join reads these, so its cost follows what is
        // pending, not the series' whole history of joined predictions.
        """
        ALTER TABLE predictions ADD COLUMN joined boolean NOT NULL DEFAULT false;
        UPDATE predictions p SET joined = true FROM outcomes o WHERE o.request_id = p.request_id;
        CREATE INDEX predictions_pending ON predictions (symbol, interval, time, request_id) WHERE NOT joined;
        """,
    ];

    private const string Columns = "p.request_id, p.model, p.version, p.symbol, p.interval, p.time, p.horizon, p.target, p.value, p.received_at";

    /// <summary>Statements that read a whole table on purpose, with the reason; the plan check allows these and no others.</summary>
    public static readonly IReadOnlyDictionary<string, string> WholeTableReads = new Dictionary<string, string>
    {
        [nameof(CountAll)] = "the monitoring status counts every stored prediction; it is not on a request path that scales with traffic",
    };

    public const string InsertPredictions = """
        INSERT INTO predictions(request_id, model, version, symbol, interval, time, horizon, target, value, received_at)
        SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::timestamptz[], $7::int[], $8::text[],
                             $9::float8[], $10::timestamptz[])
        ON CONFLICT (request_id) DO NOTHING
        """;

    public const string Pending = $"""
        SELECT {Columns} FROM predictions p
        WHERE p.symbol = $1 AND p.interval = $2 AND p.time < $3 AND NOT p.joined
          AND (p.time, p.request_id) > (coalesce($5::timestamptz, '-infinity'), coalesce($6::text, ''))
        ORDER BY p.time, p.request_id LIMIT $4
        """;

    /// <summary>The outcomes not stored yet, and their predictions marked joined; the count is of outcomes added.</summary>
    public const string InsertOutcomes = """
        WITH added AS (
            INSERT INTO outcomes(request_id, realised, baseline_last, baseline_trailing, known_at, joined_at)
            SELECT * FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[], $5::timestamptz[], $6::timestamptz[])
            ON CONFLICT (request_id) DO NOTHING
            RETURNING request_id)
        UPDATE predictions p SET joined = true FROM added a WHERE p.request_id = a.request_id
        """;

    private const string QueryColumns = $"SELECT {Columns}, o.realised, o.baseline_last, o.baseline_trailing, o.known_at, o.joined_at";

    private const string QueryFilter = """
        WHERE p.model = $1 AND ($2::int IS NULL OR p.version = $2)
          AND p.time >= coalesce($3::timestamptz, '-infinity') AND p.time < coalesce($4::timestamptz, 'infinity')
          AND (p.time, p.request_id) < (coalesce($5::timestamptz, 'infinity'), coalesce($6::text, ''))
        ORDER BY p.time DESC, p.request_id DESC LIMIT $7
        """;

    public const string Query = QueryColumns + " FROM predictions p LEFT JOIN outcomes o ON o.request_id = p.request_id " + QueryFilter;

    public const string QueryJoined = QueryColumns + " FROM predictions p JOIN outcomes o ON o.request_id = p.request_id " + QueryFilter;

    public const string CountAll = "SELECT count(*), count(o.request_id) FROM predictions p LEFT JOIN outcomes o ON o.request_id = p.request_id";

    public const string CountOfModel = CountAll + " WHERE p.model = $1";

    public const string InsertRejected = """
        INSERT INTO rejected_predictions(event_id, reason, payload, rejected_at) VALUES ($1, $2, $3, $4)
        ON CONFLICT (event_id) DO NOTHING
        """;

    public const string Rejected = "SELECT event_id, reason, payload, rejected_at FROM rejected_predictions ORDER BY rejected_at DESC, event_id LIMIT $1";

    public const string InsertDrift = """
        INSERT INTO drift_events(event_id, model, version, window_start, window_end, window_size, evidence, detected_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) ON CONFLICT (event_id) DO NOTHING
        """;

    public const string Drift = """
        SELECT event_id, model, version, window_start, window_end, window_size, evidence::text, detected_at FROM drift_events
        WHERE model = $1 ORDER BY window_end DESC LIMIT $2
        """;
}
