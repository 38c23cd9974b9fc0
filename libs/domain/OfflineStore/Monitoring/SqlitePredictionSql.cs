namespace Platform.OfflineStore.Monitoring;

/// <summary>
/// Every statement the SQLite monitoring store runs, in one place, so a test can ask SQLite for each one's query plan
/// and refuse a full scan of a table that grows with traffic.
/// </summary>
internal static class SqlitePredictionSql
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS predictions (
            request_id  TEXT    NOT NULL PRIMARY KEY,
            model       TEXT    NOT NULL,
            version     INTEGER NOT NULL,
            symbol      TEXT    NOT NULL,
            interval    TEXT    NOT NULL,
            time        INTEGER NOT NULL,
            horizon     INTEGER NOT NULL,
            target      TEXT    NOT NULL,
            value       REAL    NOT NULL,
            received_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS predictions_series ON predictions(symbol, interval, time);
        CREATE INDEX IF NOT EXISTS predictions_model ON predictions(model, time, request_id);
        CREATE TABLE IF NOT EXISTS outcomes (
            request_id TEXT    NOT NULL PRIMARY KEY REFERENCES predictions(request_id),
            realised   REAL    NOT NULL,
            baseline_last     REAL NOT NULL,
            baseline_trailing REAL NOT NULL,
            known_at   INTEGER NOT NULL,
            joined_at  INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS rejected_predictions (
            event_id    TEXT    NOT NULL PRIMARY KEY,
            reason      TEXT    NOT NULL,
            payload     TEXT    NOT NULL,
            rejected_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS drift_events (
            event_id     TEXT    NOT NULL PRIMARY KEY,
            model        TEXT    NOT NULL,
            version      INTEGER NOT NULL,
            window_start INTEGER NOT NULL,
            window_end   INTEGER NOT NULL,
            window_size  INTEGER NOT NULL,
            evidence     TEXT    NOT NULL,
            detected_at  INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS drift_model ON drift_events(model, window_end);
        CREATE INDEX IF NOT EXISTS rejected_recent ON rejected_predictions(rejected_at DESC, event_id);
        """;

    private const string Columns = "p.request_id, p.model, p.version, p.symbol, p.interval, p.time, p.horizon, p.target, p.value, p.received_at";

    /// <summary>
    /// Statements that read a whole table on purpose, with the reason; the plan check allows these and no others.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> WholeTableReads = new Dictionary<string, string>
    {
        [nameof(CountAll)] = "the monitoring status counts every stored prediction; it is not on a request path that scales with traffic",
    };

    public const string InsertPrediction = """
        INSERT INTO predictions(request_id, model, version, symbol, interval, time, horizon, target, value, received_at)
        VALUES ($id, $model, $version, $symbol, $interval, $time, $horizon, $target, $value, $received)
        ON CONFLICT (request_id) DO NOTHING
        """;

    /// <summary>
    /// Whether the file lacks <c>predictions.joined</c>: <see cref="Schema"/> creates the table without it, so a new file is
    /// migrated as one from before the flag.
    /// </summary>
    public const string MigrateJoinedNeeded = "SELECT NOT EXISTS (SELECT 1 FROM pragma_table_info('predictions') WHERE name = 'joined')";

    /// <summary>The flag, set for every prediction that has its outcome (<see cref="SqlitePredictionStore"/> runs it once, then
    /// <see cref="MigratePendingIndex"/>).</summary>
    public const string MigrateAddJoinedColumn = """
        ALTER TABLE predictions ADD COLUMN joined INTEGER NOT NULL DEFAULT 0;
        UPDATE predictions SET joined = 1 WHERE request_id IN (SELECT request_id FROM outcomes);
        """;

    /// <summary>
    /// The predictions still waiting for their outcome, by series: a join reads these, so its cost follows what is pending,
    /// not the series' whole history of joined predictions.
    /// </summary>
    public const string MigratePendingIndex = """
        CREATE INDEX IF NOT EXISTS predictions_pending ON predictions(symbol, interval, time, request_id) WHERE joined = 0
        """;

    public const string Pending = $"""
        SELECT {Columns} FROM predictions p
        WHERE p.symbol = $symbol AND p.interval = $interval AND p.time < $before AND p.joined = 0
          AND (p.time, p.request_id) > ($afterTime, $afterId)
        ORDER BY p.time, p.request_id LIMIT $limit
        """;

    public const string InsertOutcome = """
        INSERT INTO outcomes(request_id, realised, baseline_last, baseline_trailing, known_at, joined_at)
        VALUES ($id, $realised, $last, $trailing, $known, $joined)
        ON CONFLICT (request_id) DO NOTHING
        """;

    /// <summary>Run after <see cref="InsertOutcome"/> added a row, in its transaction.</summary>
    public const string MarkJoined = "UPDATE predictions SET joined = 1 WHERE request_id = $id";

    private const string QueryFilter = """
        WHERE p.model = $model AND ($version IS NULL OR p.version = $version)
          AND p.time >= $from AND p.time < $to
          AND ($beforeTime IS NULL OR p.time < $beforeTime OR (p.time = $beforeTime AND p.request_id < $beforeId))
        ORDER BY p.time DESC, p.request_id DESC LIMIT $limit
        """;

    private const string QueryColumns = $"SELECT {Columns}, o.realised, o.baseline_last, o.baseline_trailing, o.known_at, o.joined_at";

    public const string Query = QueryColumns + " FROM predictions p LEFT JOIN outcomes o ON o.request_id = p.request_id " + QueryFilter;

    // CROSS JOIN keeps predictions as the outer loop: SQLite would otherwise be free to walk every outcome.
    public const string QueryJoined = QueryColumns + " FROM predictions p CROSS JOIN outcomes o ON o.request_id = p.request_id " + QueryFilter;

    public const string CountAll = "SELECT count(*), count(o.request_id) FROM predictions p LEFT JOIN outcomes o ON o.request_id = p.request_id";

    public const string CountOfModel = CountAll + " WHERE p.model = $model";

    public const string InsertRejected = """
        INSERT INTO rejected_predictions(event_id, reason, payload, rejected_at) VALUES ($id, $reason, $payload, $at)
        ON CONFLICT (event_id) DO NOTHING
        """;

    public const string Rejected = "SELECT event_id, reason, payload, rejected_at FROM rejected_predictions ORDER BY rejected_at DESC, event_id LIMIT $limit";

    public const string InsertDrift = """
        INSERT INTO drift_events(event_id, model, version, window_start, window_end, window_size, evidence, detected_at)
        VALUES ($id, $model, $version, $start, $end, $size, $evidence, $at) ON CONFLICT (event_id) DO NOTHING
        """;

    public const string Drift = """
        SELECT event_id, model, version, window_start, window_end, window_size, evidence, detected_at FROM drift_events
        WHERE model = $model ORDER BY window_end DESC LIMIT $limit
        """;
}
