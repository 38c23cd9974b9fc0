namespace Platform.OfflineStore.Sqlite;

/// <summary>
/// Every statement the SQLite bar store runs, in one place, so a test can ask SQLite for each one's query plan and
/// refuse a full scan of <c>bars</c> or <c>outbox</c>. A statement written anywhere else would escape that check.
/// Each one has a single shape: no <c>$x IS NULL OR column = $x</c>, which SQLite cannot answer from an index.
/// </summary>
internal static class SqliteBarSql
{
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS bars (
            symbol    TEXT    NOT NULL,
            interval  TEXT    NOT NULL,
            time      INTEGER NOT NULL,
            open      REAL    NOT NULL,
            high      REAL    NOT NULL,
            low       REAL    NOT NULL,
            close     REAL    NOT NULL,
            volume    REAL    NOT NULL,
            adj_close REAL,
            vwap      REAL,
            PRIMARY KEY (symbol, interval, time)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS outbox (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            topic         TEXT    NOT NULL,
            event_id      TEXT    NOT NULL,
            type          TEXT    NOT NULL,
            partition_key TEXT,
            data          BLOB    NOT NULL,
            created_at    INTEGER NOT NULL,
            sent_at       INTEGER
        );
        CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(id) WHERE sent_at IS NULL;
        CREATE INDEX IF NOT EXISTS outbox_sent ON outbox(sent_at) WHERE sent_at IS NOT NULL;
        CREATE TABLE IF NOT EXISTS series (
            symbol   TEXT    NOT NULL,
            interval TEXT    NOT NULL,
            first    INTEGER NOT NULL,
            last     INTEGER NOT NULL,
            count    INTEGER NOT NULL,
            PRIMARY KEY (symbol, interval)
        ) WITHOUT ROWID;
        """;

    /// <summary>
    /// Fills <c>series</c> from the bars of a file written before it existed: once, when it is empty and bars are not.
    /// A migration, so it reads the whole table; <see cref="Schema"/> and the <c>Migrate</c> statements are the only ones
    /// the plan check leaves out.
    /// </summary>
    public const string MigrateSeries = """
        INSERT INTO series(symbol, interval, first, last, count)
        SELECT symbol, interval, min(time), max(time), count(*) FROM bars GROUP BY symbol, interval
        """;

    public const string MigrateSeriesNeeded = "SELECT NOT EXISTS (SELECT 1 FROM series) AND EXISTS (SELECT 1 FROM bars)";

    /// <summary>Tables that hold one row per series, not per bar: reading all of them is the point of the query.</summary>
    public static readonly IReadOnlySet<string> SmallTables = new HashSet<string> { "series" };

    public const string Bars = """
        SELECT time, open, high, low, close, volume, adj_close, vwap FROM bars
        WHERE symbol = $symbol AND interval = $interval AND time >= $from AND time < $to
        ORDER BY time LIMIT $limit
        """;

    public const string CoverageAll = "SELECT symbol, interval, first, last, count FROM series";

    public const string CoverageOfSymbol = "SELECT symbol, interval, first, last, count FROM series WHERE symbol = $symbol";

    public const string StoredBar = """
        SELECT time, open, high, low, close, volume, adj_close, vwap FROM bars
        WHERE symbol = $symbol AND interval = $interval AND time = $time
        """;

    /// <summary>Whether a series holds a bar in [$from, $to]: an imported range without one is inserted without merging.</summary>
    public const string RangeHasBars = """
        SELECT EXISTS (SELECT 1 FROM bars WHERE symbol = $symbol AND interval = $interval AND time >= $from AND time <= $to)
        """;

    /// <summary>The direct path's insert: the range holds no stored bar, so a key that exists is an error, not a merge.</summary>
    public const string InsertNewBar = """
        INSERT INTO bars(symbol, interval, time, open, high, low, close, volume, adj_close, vwap)
        VALUES ($symbol, $interval, $time, $open, $high, $low, $close, $volume, $adj, $vwap)
        """;

    public const string InsertBar = """
        INSERT INTO bars(symbol, interval, time, open, high, low, close, volume, adj_close, vwap)
        VALUES ($symbol, $interval, $time, $open, $high, $low, $close, $volume, $adj, $vwap)
        ON CONFLICT (symbol, interval, time) DO NOTHING
        """;

    public const string UpdateBar = """
        UPDATE bars SET open = $open, high = $high, low = $low, close = $close, volume = $volume, adj_close = $adj, vwap = $vwap
        WHERE symbol = $symbol AND interval = $interval AND time = $time
        """;

    /// <summary>Adds newly inserted bars to a series' summary (updated bars change neither its range nor its count).</summary>
    public const string AddToSeries = """
        INSERT INTO series(symbol, interval, first, last, count) VALUES ($symbol, $interval, $first, $last, $count)
        ON CONFLICT (symbol, interval) DO UPDATE SET
            first = min(first, excluded.first), last = max(last, excluded.last), count = count + excluded.count
        """;

    public const string InsertOutbox = """
        INSERT INTO outbox(topic, event_id, type, partition_key, data, created_at)
        VALUES ($topic, $id, $type, $pk, $data, $now)
        """;

    public const string PendingOutbox = "SELECT id, topic, event_id, type, partition_key, data FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $max";

    public const string MarkSent = "UPDATE outbox SET sent_at = $now WHERE id = $id";

    public const string CountPending = "SELECT count(*) FROM outbox WHERE sent_at IS NULL";

    public const string PurgeSent = "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $before";
}
