using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using Platform.BuildingBlocks.PubSub;
using Platform.Quant;

namespace Platform.OfflineStore.Postgres;

/// <summary>
/// Read access to the PostgreSQL offline store. Other services connect with a read-only role or, at least, with
/// <c>default_transaction_read_only</c> on (see <see cref="ReadOnly"/>), so only marketdata writes bars.
/// </summary>
public class PostgresBarReader(NpgsqlDataSource dataSource) : IBarReader, IAsyncDisposable
{
    protected NpgsqlDataSource DataSource { get; } = dataSource;

    /// <summary>A data source whose sessions refuse writes, for readers of a store they do not own.</summary>
    public static NpgsqlDataSource ReadOnly(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = (builder.Options + " -c default_transaction_read_only=on").Trim();
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public async Task<IReadOnlyList<Bar>> GetBarsAsync(BarQuery query, CancellationToken ct = default)
    {
        var list = new List<Bar>();
        await foreach (var bar in StreamBarsAsync(query, ct)) list.Add(bar);
        return list;
    }

    public async IAsyncEnumerable<Bar> StreamBarsAsync(BarQuery query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand("""
            SELECT time, open, high, low, close, volume, adj_close, vwap FROM bars
            WHERE symbol = $1 AND interval = $2 AND ($3::timestamptz IS NULL OR time >= $3) AND ($4::timestamptz IS NULL OR time < $4)
            ORDER BY time LIMIT $5
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Symbol });
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Interval.Name });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = query.From is { } f ? f.UtcDateTime : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = query.To is { } t ? t.UtcDateTime : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = query.Limit is { } l ? Math.Max(0, l) : DBNull.Value });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) yield return ReadBar(reader, 0);
    }

    public async Task<IReadOnlyList<SeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand("""
            SELECT symbol, interval, min(time), max(time), count(*) FROM bars
            WHERE $1::text IS NULL OR symbol = $1 GROUP BY symbol, interval
            """);
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = (object?)symbol ?? DBNull.Value });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<SeriesCoverage>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new SeriesCoverage(reader.GetString(0), BarInterval.Parse(reader.GetString(1)),
                reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetInt64(4)));
        }
        return list.OrderBy(c => c.Symbol, StringComparer.Ordinal).ThenBy(c => c.Interval.Length).ToList();
    }

    internal static Bar ReadBar(NpgsqlDataReader r, int o) => new(
        r.GetFieldValue<DateTimeOffset>(o), r.GetDouble(o + 1), r.GetDouble(o + 2), r.GetDouble(o + 3), r.GetDouble(o + 4), r.GetDouble(o + 5),
        r.IsDBNull(o + 6) ? null : r.GetDouble(o + 6), r.IsDBNull(o + 7) ? null : r.GetDouble(o + 7));

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return DataSource.DisposeAsync();
    }
}

/// <summary>
/// The production offline store on PostgreSQL. Bulk writes go through binary COPY into a temporary staging table
/// and one <c>INSERT ... ON CONFLICT</c>; the outbox rows are copied in the same transaction. Writers take a
/// transaction-level advisory lock, so the conflict check and the insert see the same table.
/// </summary>
public sealed class PostgresBarStore(NpgsqlDataSource dataSource) : PostgresBarReader(dataSource), IBarStore
{
    private const long MigrationLock = 0x0FF1_1E5A_0001;
    private const long WriterLock = 0x0FF1_1E5A_0002;

    /// <summary>The schema, in order; applied once each and recorded in <c>offline_schema_migrations</c>.</summary>
    internal static readonly string[] Migrations =
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
    ];

    private readonly OutboxSignal _signal = new();

    public static PostgresBarStore Create(string connectionString) => new(NpgsqlDataSource.Create(connectionString));

    public async Task InitializeAsync(CancellationToken ct = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await Exec(connection, tx, $"SELECT pg_advisory_xact_lock({MigrationLock})", ct);
        await Exec(connection, tx, "CREATE TABLE IF NOT EXISTS offline_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())", ct);
        await using var current = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM offline_schema_migrations", connection, tx);
        var applied = (int)(await current.ExecuteScalarAsync(ct))!;
        for (var version = applied + 1; version <= Migrations.Length; version++)
        {
            await Exec(connection, tx, Migrations[version - 1], ct);
            await Exec(connection, tx, $"INSERT INTO offline_schema_migrations(version) VALUES ({version})", ct);
        }
        await tx.CommitAsync(ct);
    }

    private static async Task Exec(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<BarWriteResult> WriteAsync(BarWrite write, CancellationToken ct = default)
    {
        var problems = BarValidation.CheckBatch(write.Bars);
        if (problems.Count > 0) throw new InvalidBarsException(problems);

        await using var connection = await DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await Exec(connection, tx, $"SELECT pg_advisory_xact_lock({WriterLock})", ct);
        await Exec(connection, tx, """
            CREATE TEMP TABLE bars_staging (
                symbol text, interval text, time timestamptz, open double precision, high double precision, low double precision,
                close double precision, volume double precision, adj_close double precision, vwap double precision
            ) ON COMMIT DROP
            """, ct);
        await using (var copy = await connection.BeginBinaryImportAsync(
            "COPY bars_staging (symbol, interval, time, open, high, low, close, volume, adj_close, vwap) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var sb in write.Bars)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(sb.Symbol, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(sb.Interval.Name, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(sb.Bar.Time.UtcDateTime, NpgsqlDbType.TimestampTz, ct);
                await copy.WriteAsync(sb.Bar.Open, NpgsqlDbType.Double, ct);
                await copy.WriteAsync(sb.Bar.High, NpgsqlDbType.Double, ct);
                await copy.WriteAsync(sb.Bar.Low, NpgsqlDbType.Double, ct);
                await copy.WriteAsync(sb.Bar.Close, NpgsqlDbType.Double, ct);
                await copy.WriteAsync(sb.Bar.Volume, NpgsqlDbType.Double, ct);
                if (sb.Bar.AdjClose is { } adj) await copy.WriteAsync(adj, NpgsqlDbType.Double, ct); else await copy.WriteNullAsync(ct);
                if (sb.Bar.Vwap is { } vwap) await copy.WriteAsync(vwap, NpgsqlDbType.Double, ct); else await copy.WriteNullAsync(ct);
            }
            await copy.CompleteAsync(ct);
        }
        await Exec(connection, tx, "ANALYZE bars_staging", ct);

        if (write.OnConflict == ConflictPolicy.Reject)
        {
            var conflicts = new List<BarConflict>();
            await using (var check = new NpgsqlCommand("""
                SELECT s.symbol, s.interval, b.time, b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.vwap,
                       s.time, s.open, s.high, s.low, s.close, s.volume, s.adj_close, s.vwap
                FROM bars_staging s JOIN bars b ON b.symbol = s.symbol AND b.interval = s.interval AND b.time = s.time
                WHERE (b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.vwap)
                      IS DISTINCT FROM (s.open, s.high, s.low, s.close, s.volume, s.adj_close, s.vwap)
                ORDER BY s.symbol, s.interval, s.time
                """, connection, tx))
            await using (var reader = await check.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    var interval = BarInterval.Parse(reader.GetString(1));
                    conflicts.Add(new BarConflict(new SymbolBar(reader.GetString(0), interval, ReadBar(reader, 2)),
                        new SymbolBar(reader.GetString(0), interval, ReadBar(reader, 10))));
                }
            }
            if (conflicts.Count > 0)
            {
                await tx.RollbackAsync(ct);
                return BarWriteResult.Rejected(conflicts);
            }
        }

        var upsert = """
            INSERT INTO bars AS b (symbol, interval, time, open, high, low, close, volume, adj_close, vwap)
            SELECT symbol, interval, time, open, high, low, close, volume, adj_close, vwap FROM bars_staging
            """ + (write.OnConflict == ConflictPolicy.Reject
            ? " ON CONFLICT (symbol, interval, time) DO NOTHING"
            : """
               ON CONFLICT (symbol, interval, time) DO UPDATE SET open = excluded.open, high = excluded.high, low = excluded.low,
                close = excluded.close, volume = excluded.volume, adj_close = excluded.adj_close, vwap = excluded.vwap
              WHERE (b.open, b.high, b.low, b.close, b.volume, b.adj_close, b.vwap)
                    IS DISTINCT FROM (excluded.open, excluded.high, excluded.low, excluded.close, excluded.volume, excluded.adj_close, excluded.vwap)
              """) + " RETURNING b.symbol, b.interval, b.time, (xmax = 0) AS inserted";

        var needKeys = write.PerBar is not null && write.PerBarScope == EventScope.Changed;
        var sql = needKeys
            ? $"WITH changed AS ({upsert}) SELECT symbol, interval, time, inserted FROM changed"
            : $"""
               WITH changed AS ({upsert})
               SELECT symbol, interval, min(time), max(time), count(*), count(*) FILTER (WHERE inserted) FROM changed GROUP BY symbol, interval
               """;
        long inserted = 0, updated = 0;
        var changes = new List<SeriesChange>();
        var changedKeys = new HashSet<(string, string, DateTimeOffset)>();
        await using (var cmd = new NpgsqlCommand(sql, connection, tx))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                if (needKeys)
                {
                    changedKeys.Add((reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
                    if (reader.GetBoolean(3)) inserted++; else updated++;
                }
                else
                {
                    var count = reader.GetInt64(4);
                    var ins = reader.GetInt64(5);
                    inserted += ins;
                    updated += count - ins;
                    changes.Add(new SeriesChange(reader.GetString(0), BarInterval.Parse(reader.GetString(1)),
                        reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3), count));
                }
            }
        }
        IReadOnlyList<SymbolBar> changed = [];
        if (needKeys)
        {
            changed = write.Bars.Where(b => changedKeys.Contains((b.Symbol, b.Interval.Name, b.Bar.Time.ToUniversalTime()))).ToList();
            changes = Sqlite.SqliteBarStore.Summarise(changed);
        }
        var events = Sqlite.SqliteBarStore.Events(write, changes, changed);
        if (events.Count > 0)
        {
            await using var copy = await connection.BeginBinaryImportAsync(
                "COPY outbox (topic, event_id, type, partition_key, data) FROM STDIN (FORMAT BINARY)", ct);
            foreach (var e in events)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(e.Topic, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(e.Id, NpgsqlDbType.Text, ct);
                await copy.WriteAsync(e.Type, NpgsqlDbType.Text, ct);
                if (e.PartitionKey is { } pk) await copy.WriteAsync(pk, NpgsqlDbType.Text, ct); else await copy.WriteNullAsync(ct);
                await copy.WriteAsync(e.Data.ToArray(), NpgsqlDbType.Bytea, ct);
            }
            await copy.CompleteAsync(ct);
        }
        await tx.CommitAsync(ct);
        if (events.Count > 0) _signal.Notify();
        var unchanged = write.Bars.Count - inserted - updated;
        return new BarWriteResult(inserted, updated, unchanged, [], changes, events.Count);
    }

    public async Task<int> RelayOutboxAsync(Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, int max = 512, CancellationToken ct = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var pending = new List<OutboxMessage>();
        await using (var cmd = new NpgsqlCommand(
            "SELECT id, topic, event_id, type, partition_key, data FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", connection, tx))
        {
            cmd.Parameters.Add(new NpgsqlParameter { Value = max });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                pending.Add(new OutboxMessage(reader.GetInt64(0), new OutgoingEvent(reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.GetFieldValue<byte[]>(5), reader.IsDBNull(4) ? null : reader.GetString(4))));
            }
        }
        if (pending.Count == 0) return 0;
        await publish(pending, ct);
        await using (var mark = new NpgsqlCommand("UPDATE outbox SET sent_at = now() WHERE id = ANY($1)", connection, tx))
        {
            mark.Parameters.Add(new NpgsqlParameter { Value = pending.Select(m => m.Id).ToArray() });
            await mark.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return pending.Count;
    }

    public async Task<long> PendingOutboxCountAsync(CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand("SELECT count(*) FROM outbox WHERE sent_at IS NULL");
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public async Task<int> PurgeSentOutboxAsync(TimeSpan age, CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand("DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < now() - $1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = age });
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public Task WaitForOutboxAsync(TimeSpan poll, CancellationToken ct) => _signal.WaitAsync(poll, ct);
}
