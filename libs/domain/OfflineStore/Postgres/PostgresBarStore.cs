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
        await using var cmd = DataSource.CreateCommand(PostgresBarSql.Bars);
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Symbol });
        cmd.Parameters.Add(new NpgsqlParameter { Value = query.Interval.Name });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = query.From is { } f ? f.UtcDateTime : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = query.To is { } t ? t.UtcDateTime : DBNull.Value });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = query.Limit is { } l ? Math.Max(0, l) : DBNull.Value });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) yield return ReadBar(reader, 0);
    }

    public async Task<IReadOnlyList<IReadOnlyList<Bar>>> GetBarsManyAsync(IReadOnlyList<BarQuery> queries, CancellationToken ct = default)
    {
        var results = new List<Bar>[queries.Count];
        for (var i = 0; i < results.Length; i++) results[i] = [];
        if (queries.Count == 0) return results;
        await using var cmd = DataSource.CreateCommand(PostgresBarSql.BarsMany);
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = queries.Select(q => q.Symbol).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = queries.Select(q => q.Interval.Name).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = queries.Select(q => q.From?.UtcDateTime).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz, Value = queries.Select(q => q.To?.UtcDateTime).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, Value = queries.Select(q => q.Limit is { } l ? Math.Max(0, l) : (long?)null).ToArray() });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) results[reader.GetInt64(0) - 1].Add(ReadBar(reader, 1));
        return results;
    }

    public async Task<IReadOnlyList<SeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand(symbol is null ? PostgresBarSql.CoverageAll : PostgresBarSql.CoverageOfSymbol);
        if (symbol is not null) cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = symbol });
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
/// The production offline store on PostgreSQL. A series whose range holds no stored bar is written with one binary
/// COPY straight into <c>bars</c>; otherwise bulk writes go through binary COPY into a temporary staging table and one
/// <c>INSERT ... ON CONFLICT</c>. The outbox rows are copied in the same transaction. Writers take a transaction-level
/// advisory lock, so the range check, the conflict check and the insert see the same table.
/// </summary>
public sealed class PostgresBarStore(NpgsqlDataSource dataSource) : PostgresBarReader(dataSource), IBarStore
{
    private const long MigrationLock = 0x0FF1_1E5A_0001;
    private const long WriterLock = 0x0FF1_1E5A_0002;


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
        for (var version = applied + 1; version <= PostgresBarSql.Migrations.Length; version++)
        {
            await Exec(connection, tx, PostgresBarSql.Migrations[version - 1], ct);
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
        var needKeys = write.PerBar is not null && write.PerBarScope == EventScope.Changed;
        var merged = await MergeAsync(connection, tx, copy =>
        {
            foreach (var sb in write.Bars) WriteRow(copy, sb.Symbol, sb.Interval.Name, sb.Bar);
        }, write.OnConflict, needKeys, ct);
        if (merged.Conflicts.Count > 0)
        {
            await tx.RollbackAsync(ct);
            return BarWriteResult.Rejected(merged.Conflicts);
        }
        var changes = merged.Changes;
        IReadOnlyList<SymbolBar> changed = [];
        if (needKeys)
        {
            changed = write.Bars.Where(b => merged.ChangedKeys.Contains((b.Symbol, b.Interval.Name, b.Bar.Time.ToUniversalTime()))).ToList();
            changes = Sqlite.SqliteBarStore.Summarise(changed);
        }
        var events = Sqlite.SqliteBarStore.Events(write, changes, changed);
        await FinishAsync(connection, tx, merged.Added, events, ct);
        var unchanged = write.Bars.Count - merged.Inserted - merged.Updated;
        return new BarWriteResult(merged.Inserted, merged.Updated, unchanged, [], changes, events.Count);
    }

    public async Task<BarWriteResult> WriteSeriesAsync(SeriesWrite write, CancellationToken ct = default)
    {
        var batch = write.Batch;
        if (batch.Count == 0) return new BarWriteResult(0, 0, 0, [], [], 0) { Path = SeriesWritePath.None };
        var symbol = batch.Symbol;
        var interval = batch.Interval.Name;
        var first = batch.First;
        var last = batch.Last.Time;

        await using var connection = await DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        // Writers serialise on this lock, so no other writer can add a bar to the range between the check and the copy.
        await Exec(connection, tx, $"SELECT pg_advisory_xact_lock({WriterLock})", ct);
        bool occupied;
        await using (var check = new NpgsqlCommand(PostgresBarSql.RangeHasBars, connection, tx))
        {
            check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = symbol });
            check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = interval });
            check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = first.UtcDateTime });
            check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = last.UtcDateTime });
            occupied = (bool)(await check.ExecuteScalarAsync(ct))!;
        }

        if (!occupied)
        {
            // Nothing stored in [first, last]: every bar is new, so one COPY into bars is the whole write (a key that
            // appeared anyway would fail the COPY and roll everything back).
            await using (var copy = await BarCopyWriter.BeginAsync(connection, symbol, interval, ct))
            {
                var bars = batch.Memory;
                for (var at = 0; at < bars.Length; at += 1 << 16)
                {
                    ct.ThrowIfCancellationRequested();
                    copy.Write(bars.Span[at..Math.Min(bars.Length, at + (1 << 16))]);
                }
                await copy.CompleteAsync(ct);
            }
            var change = new SeriesChange(symbol, batch.Interval, first, last, batch.Count);
            var events = write.PerSeries is { } perSeries ? new List<OutgoingEvent> { perSeries(change) } : [];
            await FinishAsync(connection, tx, new() { [(symbol, interval)] = (first, last, batch.Count) }, events, ct);
            return new BarWriteResult(batch.Count, 0, 0, [], [change], events.Count) { Path = SeriesWritePath.Direct };
        }

        var merged = await MergeAsync(connection, tx, copy =>
        {
            foreach (ref readonly var bar in batch.Bars) WriteRow(copy, symbol, interval, bar);
        }, write.OnConflict, needKeys: false, ct);
        if (merged.Conflicts.Count > 0)
        {
            await tx.RollbackAsync(ct);
            return BarWriteResult.Rejected(merged.Conflicts) with { Path = SeriesWritePath.Merge };
        }
        var mergedEvents = write.PerSeries is { } perSeriesMerged ? merged.Changes.Select(perSeriesMerged).ToList() : [];
        await FinishAsync(connection, tx, merged.Added, mergedEvents, ct);
        return new BarWriteResult(merged.Inserted, merged.Updated, batch.Count - merged.Inserted - merged.Updated, [], merged.Changes, mergedEvents.Count)
        { Path = SeriesWritePath.Merge };
    }

    /// <summary>
    /// A streamed direct write, when no bar of the series is stored at or after the batch's first bar: the COPY into
    /// bars starts now and is fed while the caller reads on, so the server inserts while the file is parsed.
    /// </summary>
    public async Task<ISeriesAppend?> BeginAppendAsync(SeriesBatch batch, CancellationToken ct = default)
    {
        if (batch.Count == 0) return null;
        var connection = await DataSource.OpenConnectionAsync(ct);
        NpgsqlTransaction? tx = null;
        try
        {
            tx = await connection.BeginTransactionAsync(ct);
            await Exec(connection, tx, $"SELECT pg_advisory_xact_lock({WriterLock})", ct);
            await using (var check = new NpgsqlCommand(PostgresBarSql.RangeHasBars, connection, tx))
            {
                check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = batch.Symbol });
                check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = batch.Interval.Name });
                check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = batch.First.UtcDateTime });
                check.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = BarValidation.MaxTime.UtcDateTime });
                if ((bool)(await check.ExecuteScalarAsync(ct))!)
                {
                    await tx.DisposeAsync();
                    await connection.DisposeAsync();
                    return null;
                }
            }
            var copy = await BarCopyWriter.BeginAsync(connection, batch.Symbol, batch.Interval.Name, ct);
            return new Append(this, connection, tx, copy, batch);
        }
        catch
        {
            if (tx is not null) await tx.DisposeAsync();
            await connection.DisposeAsync();
            throw;
        }
    }

    private sealed class Append(PostgresBarStore store, NpgsqlConnection connection, NpgsqlTransaction tx, BarCopyWriter copy, SeriesBatch batch)
        : ISeriesAppend
    {
        private int _sent;
        private bool _disposed;

        public void Send()
        {
            var bars = batch.Bars;
            copy.Write(bars[_sent..]);
            _sent = bars.Length;
        }

        public async Task<BarWriteResult> CommitAsync(Func<SeriesChange, OutgoingEvent>? perSeries, CancellationToken ct = default)
        {
            Send();
            await copy.CompleteAsync(ct);
            await copy.DisposeAsync();
            var change = new SeriesChange(batch.Symbol, batch.Interval, batch.First, batch.Last.Time, batch.Count);
            var events = perSeries is not null ? new List<OutgoingEvent> { perSeries(change) } : [];
            await store.FinishAsync(connection, tx, new() { [(batch.Symbol, batch.Interval.Name)] = (change.From, change.To, batch.Count) }, events, ct);
            return new BarWriteResult(batch.Count, 0, 0, [], [change], events.Count) { Path = SeriesWritePath.Direct };
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            try
            {
                // An unfinished COPY is cancelled: the server discards it and the transaction rolls back.
                await copy.DisposeAsync();
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
            {
                // The COPY had already failed; the rollback below is what matters.
            }
            finally
            {
                await tx.DisposeAsync();
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>One bar as a COPY row. Synchronous writes: the importer buffers them and sends a full buffer at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteRow(NpgsqlBinaryImporter copy, string symbol, string interval, in Bar bar)
    {
        copy.StartRow();
        copy.Write(symbol, NpgsqlDbType.Text);
        copy.Write(interval, NpgsqlDbType.Text);
        copy.Write(bar.Time.UtcDateTime, NpgsqlDbType.TimestampTz);
        copy.Write(bar.Open, NpgsqlDbType.Double);
        copy.Write(bar.High, NpgsqlDbType.Double);
        copy.Write(bar.Low, NpgsqlDbType.Double);
        copy.Write(bar.Close, NpgsqlDbType.Double);
        copy.Write(bar.Volume, NpgsqlDbType.Double);
        if (bar.AdjClose is { } adj) copy.Write(adj, NpgsqlDbType.Double); else copy.WriteNull();
        if (bar.Vwap is { } vwap) copy.Write(vwap, NpgsqlDbType.Double); else copy.WriteNull();
    }

    /// <summary>What a staged merge did: counts, changed ranges, the inserted range per series (for <c>series</c>), or the conflicts.</summary>
    private sealed record Merged(long Inserted, long Updated, List<SeriesChange> Changes, HashSet<(string, string, DateTimeOffset)> ChangedKeys,
        Dictionary<(string Symbol, string Interval), (DateTimeOffset First, DateTimeOffset Last, long Count)> Added, List<BarConflict> Conflicts);

    /// <summary>Copies the rows into a staging table, checks conflicts (<see cref="ConflictPolicy.Reject"/>) and upserts them into bars.</summary>
    private static async Task<Merged> MergeAsync(NpgsqlConnection connection, NpgsqlTransaction tx, Action<NpgsqlBinaryImporter> rows,
        ConflictPolicy onConflict, bool needKeys, CancellationToken ct)
    {
        await Exec(connection, tx, PostgresBarSql.CreateStaging, ct);
        await using (var copy = await connection.BeginBinaryImportAsync(PostgresBarSql.CopyStaging, ct))
        {
            rows(copy);
            await copy.CompleteAsync(ct);
        }
        await Exec(connection, tx, PostgresBarSql.AnalyzeStaging, ct);

        var changes = new List<SeriesChange>();
        var changedKeys = new HashSet<(string, string, DateTimeOffset)>();
        var added = new Dictionary<(string Symbol, string Interval), (DateTimeOffset First, DateTimeOffset Last, long Count)>();
        if (onConflict == ConflictPolicy.Reject)
        {
            var conflicts = new List<BarConflict>();
            await using (var check = new NpgsqlCommand(PostgresBarSql.Conflicts, connection, tx))
            await using (var reader = await check.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    var interval = BarInterval.Parse(reader.GetString(1));
                    conflicts.Add(new BarConflict(new SymbolBar(reader.GetString(0), interval, ReadBar(reader, 2)),
                        new SymbolBar(reader.GetString(0), interval, ReadBar(reader, 10))));
                }
            }
            if (conflicts.Count > 0) return new Merged(0, 0, changes, changedKeys, added, conflicts);
        }

        var sql = (onConflict == ConflictPolicy.Reject, needKeys) switch
        {
            (true, true) => PostgresBarSql.UpsertKeepKeys,
            (true, false) => PostgresBarSql.UpsertKeepSeries,
            (false, true) => PostgresBarSql.UpsertReplaceKeys,
            (false, false) => PostgresBarSql.UpsertReplaceSeries,
        };
        long inserted = 0, updated = 0;
        await using (var cmd = new NpgsqlCommand(sql, connection, tx))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                if (needKeys)
                {
                    var key = (reader.GetString(0), reader.GetString(1));
                    var time = reader.GetFieldValue<DateTimeOffset>(2);
                    changedKeys.Add((key.Item1, key.Item2, time));
                    if (!reader.GetBoolean(3)) { updated++; continue; }
                    inserted++;
                    added[key] = added.TryGetValue(key, out var a) ? (Min(a.First, time), Max(a.Last, time), a.Count + 1) : (time, time, 1);
                }
                else
                {
                    var count = reader.GetInt64(4);
                    var ins = reader.GetInt64(5);
                    inserted += ins;
                    updated += count - ins;
                    var change = new SeriesChange(reader.GetString(0), BarInterval.Parse(reader.GetString(1)),
                        reader.GetFieldValue<DateTimeOffset>(2), reader.GetFieldValue<DateTimeOffset>(3), count);
                    changes.Add(change);
                    // Updated bars lie inside the stored range, so the changed range bounds the inserted ones for the summary.
                    if (ins > 0) added[(change.Symbol, change.Interval.Name)] = (change.From, change.To, ins);
                }
            }
        }
        return new Merged(inserted, updated, changes, changedKeys, added, []);
    }

    /// <summary>Adds the inserted bars to <c>series</c>, copies the events into the outbox and commits.</summary>
    private async Task FinishAsync(NpgsqlConnection connection, NpgsqlTransaction tx,
        Dictionary<(string Symbol, string Interval), (DateTimeOffset First, DateTimeOffset Last, long Count)> added, List<OutgoingEvent> events,
        CancellationToken ct)
    {
        if (added.Count > 0)
        {
            await using var series = new NpgsqlCommand(PostgresBarSql.AddToSeries, connection, tx);
            series.Parameters.Add(new NpgsqlParameter { Value = added.Keys.Select(k => k.Symbol).ToArray() });
            series.Parameters.Add(new NpgsqlParameter { Value = added.Keys.Select(k => k.Interval).ToArray() });
            series.Parameters.Add(new NpgsqlParameter { Value = added.Values.Select(v => v.First.UtcDateTime).ToArray() });
            series.Parameters.Add(new NpgsqlParameter { Value = added.Values.Select(v => v.Last.UtcDateTime).ToArray() });
            series.Parameters.Add(new NpgsqlParameter { Value = added.Values.Select(v => v.Count).ToArray() });
            await series.ExecuteNonQueryAsync(ct);
        }
        if (events.Count > 0)
        {
            await using var copy = await connection.BeginBinaryImportAsync(PostgresBarSql.CopyOutbox, ct);
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
    }

    public async Task<int> RelayOutboxAsync(Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, int max = 512, CancellationToken ct = default)
    {
        await using var connection = await DataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var pending = new List<OutboxMessage>();
        await using (var cmd = new NpgsqlCommand(PostgresBarSql.PendingOutbox, connection, tx))
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
        await using (var mark = new NpgsqlCommand(PostgresBarSql.MarkSent, connection, tx))
        {
            mark.Parameters.Add(new NpgsqlParameter { Value = pending.Select(m => m.Id).ToArray() });
            await mark.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return pending.Count;
    }

    public async Task<long> PendingOutboxCountAsync(CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand(PostgresBarSql.CountPending);
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }

    public async Task<int> PurgeSentOutboxAsync(TimeSpan age, CancellationToken ct = default)
    {
        await using var cmd = DataSource.CreateCommand(PostgresBarSql.PurgeSent);
        cmd.Parameters.Add(new NpgsqlParameter { Value = age });
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public Task WaitForOutboxAsync(TimeSpan poll, CancellationToken ct) => _signal.WaitAsync(poll, ct);

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;
    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
