namespace Platform.OfflineStore.Postgres;

/// <summary>
/// Every statement the PostgreSQL bar store runs, in one place, so a test can plan each one generically (as a
/// prepared statement is planned once its parameters stop mattering) and refuse a sequential scan of a large table.
/// Each statement has one shape: open bounds are coalesced to infinities, never written as <c>$1 IS NULL OR ...</c>.
/// </summary>
internal static class PostgresBarSql
{
    /// <summary>The schema, in order; applied once each and recorded in <c>offline_schema_migrations</c>.</summary>
    public static readonly string[] Migrations =
    [
        """
        CREATE TABLE bars (
            symbol    text             NOT NULL,
            interval  text             NOT NULL,
            time      timestamptz      NOT NULL,
            open      double precision NOT NULL,
            high      double precision NOT NULL,
            low       double precision NOT NULL,
            close     double precision NOT NULL,
            volume    double precision NOT NULL,
            adj_close double precision,
            vwap      double precision,
            PRIMARY KEY (symbol, interval, time)
        );
        CREATE TABLE outbox (
            id            bigserial   PRIMARY KEY,
            topic         text        NOT NULL,
            event_id      text        NOT NULL,
            type          text        NOT NULL,
            partition_key text,
            data          bytea       NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            sent_at       timestamptz
        );
        CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL;
        """,
        // Readers (features, training, backtesting) log in with a role that is granted offline_reader.
        """
        DO $$ BEGIN
            CREATE ROLE offline_reader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$;
        GRANT SELECT ON bars TO offline_reader;
        """,
        // One row per series, kept by the writer in the bars' transaction, so listing coverage does not read every bar.
        """
        CREATE TABLE series (
            symbol   text        NOT NULL,
            interval text        NOT NULL,
            first    timestamptz NOT NULL,
            last     timestamptz NOT NULL,
            count    bigint      NOT NULL,
            PRIMARY KEY (symbol, interval)
        );
        INSERT INTO series SELECT symbol, interval, min(time), max(time), count(*) FROM bars GROUP BY symbol, interval;
        GRANT SELECT ON series TO offline_reader;
        CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
        """,
    ];

    /// <summary>Tables read whole on purpose: one row per series, or the writer's own staging rows.</summary>
    public static readonly IReadOnlySet<string> SmallTables = new HashSet<string> { "series", "bars_staging" };

    public const string Bars = """
        SELECT time, open, high, low, close, volume, adj_close, vwap FROM bars
        WHERE symbol = $1 AND interval = $2
          AND time >= coalesce($3::timestamptz, '-infinity') AND time < coalesce($4::timestamptz, 'infinity')
        ORDER BY time LIMIT $5::bigint
        """;

    /// <summary>
    /// <see cref="Bars"/> for several ranges in one round trip: the ranges as parallel arrays, each one's bars tagged with its
    /// position (1-based), ordered by range then time.
    /// </summary>
    public const string BarsMany = """
        SELECT q.n, b.time, b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.vwap
        FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[])
            WITH ORDINALITY AS q(q_symbol, q_interval, q_from, q_to, q_limit, n)
        CROSS JOIN LATERAL (
            SELECT time, open, high, low, close, volume, adj_close, vwap FROM bars
            WHERE symbol = q.q_symbol AND interval = q.q_interval
              AND time >= coalesce(q.q_from, '-infinity') AND time < coalesce(q.q_to, 'infinity')
            ORDER BY time LIMIT q.q_limit) b
        ORDER BY q.n, b.time
        """;

    public const string CoverageAll = "SELECT symbol, interval, first, last, count FROM series";

    public const string CoverageOfSymbol = "SELECT symbol, interval, first, last, count FROM series WHERE symbol = $1";

    /// <summary>Whether a series holds a bar in [$3, $4]: an imported range without one is copied straight into <c>bars</c>.</summary>
    public const string RangeHasBars = """
        SELECT EXISTS (SELECT 1 FROM bars WHERE symbol = $1 AND interval = $2 AND time >= $3::timestamptz AND time <= $4::timestamptz)
        """;

    /// <summary>The direct path: rows of a range that holds no stored bar, copied into the table itself.</summary>
    public const string CopyBars = "COPY bars (symbol, interval, time, open, high, low, close, volume, adj_close, vwap) FROM STDIN (FORMAT BINARY)";

    public const string CreateStaging = """
        CREATE TEMP TABLE bars_staging (
            symbol text, interval text, time timestamptz, open double precision, high double precision, low double precision,
            close double precision, volume double precision, adj_close double precision, vwap double precision
        ) ON COMMIT DROP
        """;

    public const string CopyStaging = "COPY bars_staging (symbol, interval, time, open, high, low, close, volume, adj_close, vwap) FROM STDIN (FORMAT BINARY)";

    public const string AnalyzeStaging = "ANALYZE bars_staging";

    public const string Conflicts = """
        SELECT s.symbol, s.interval, b.time, b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.vwap,
               s.time, s.open, s.high, s.low, s.close, s.volume, s.adj_close, s.vwap
        FROM bars_staging s JOIN bars b ON b.symbol = s.symbol AND b.interval = s.interval AND b.time = s.time
        WHERE (b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.vwap)
              IS DISTINCT FROM (s.open, s.high, s.low, s.close, s.volume, s.adj_close, s.vwap)
        ORDER BY s.symbol, s.interval, s.time
        """;

    private const string InsertFromStaging = """
        INSERT INTO bars AS b (symbol, interval, time, open, high, low, close, volume, adj_close, vwap)
        SELECT symbol, interval, time, open, high, low, close, volume, adj_close, vwap FROM bars_staging
        """;

    private const string KeepStored = " ON CONFLICT (symbol, interval, time) DO NOTHING";

    private const string ReplaceChanged = """
         ON CONFLICT (symbol, interval, time) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
          close = excluded.close, volume = excluded.volume, adj_close = excluded.adj_close, vwap = excluded.vwap
        WHERE (b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.vwap)
              IS DISTINCT FROM (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume, excluded.adj_close, excluded.vwap)
        """;

    private const string Returning = " RETURNING b.symbol, b.interval, b.time, (xmax = 0) AS inserted";

    private const string PerKey = "SELECT symbol, interval, time, inserted FROM changed";

    private const string PerSeries = """
        SELECT symbol, interval, min(time), max(time), count(*), count(*) FILTER (WHERE inserted) FROM changed GROUP BY symbol, interval
        """;

    /// <summary>Upserts the staged bars keeping stored values, answering each changed key.</summary>
    public const string UpsertKeepKeys = "WITH changed AS (" + InsertFromStaging + KeepStored + Returning + ") " + PerKey;

    /// <summary>Upserts the staged bars keeping stored values, answering per series: range of changes, changed, inserted.</summary>
    public const string UpsertKeepSeries = "WITH changed AS (" + InsertFromStaging + KeepStored + Returning + ") " + PerSeries;

    public const string UpsertReplaceKeys = "WITH changed AS (" + InsertFromStaging + ReplaceChanged + Returning + ") " + PerKey;

    public const string UpsertReplaceSeries = "WITH changed AS (" + InsertFromStaging + ReplaceChanged + Returning + ") " + PerSeries;

    /// <summary>Adds newly inserted bars to the series' summaries (arrays: symbol, interval, first, last, inserted count).</summary>
    public const string AddToSeries = """
        INSERT INTO series AS s (symbol, interval, first, last, count)
        SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::bigint[])
        ON CONFLICT (symbol, interval) DO UPDATE SET
            first = least(s.first, excluded.first), last = greatest(s.last, excluded.last), count = s.count + excluded.count
        """;

    public const string CopyOutbox = "COPY outbox (topic, event_id, type, partition_key, data) FROM STDIN (FORMAT BINARY)";

    public const string PendingOutbox = "SELECT id, topic, event_id, type, partition_key, data FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED";

    public const string MarkSent = "UPDATE outbox SET sent_at = now() WHERE id = ANY($1)";

    public const string CountPending = "SELECT count(*) FROM outbox WHERE sent_at IS NULL";

    public const string PurgeSent = "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < now() - $1::interval";
}
