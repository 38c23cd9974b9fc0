using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.Quant;
using SQLitePCL;

namespace Platform.OfflineStore.Sqlite;

/// <summary>
/// Read-only access to the embedded offline store (<c>bars.db</c>), for services other than marketdata. The file is
/// opened read-only; before marketdata has created it every series is simply empty.
/// </summary>
public class SqliteBarReader : IBarReader
{
    public const string FileName = "bars.db";

    private readonly string _readOnlyConnectionString;

    public SqliteBarReader(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        _readOnlyConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path, Mode = SqliteOpenMode.ReadOnly, Pooling = true, DefaultTimeout = 30,
        }.ToString();
    }

    public string Path { get; }

    protected virtual SqliteConnection? OpenRead()
    {
        if (!File.Exists(Path)) return null;
        var connection = new SqliteConnection(_readOnlyConnectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout=10000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    public async Task<IReadOnlyList<Bar>> GetBarsAsync(BarQuery query, CancellationToken ct = default)
    {
        var list = new List<Bar>();
        await foreach (var bar in StreamBarsAsync(query, ct)) list.Add(bar);
        return list;
    }

    public async IAsyncEnumerable<Bar> StreamBarsAsync(BarQuery query, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await Task.Yield();
        using var connection = OpenRead();
        if (connection is null) yield break;
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqliteBarSql.Bars;
        cmd.Parameters.AddWithValue("$symbol", query.Symbol);
        cmd.Parameters.AddWithValue("$interval", query.Interval.Name);
        cmd.Parameters.AddWithValue("$from", query.From?.UtcTicks ?? long.MinValue);
        cmd.Parameters.AddWithValue("$to", query.To?.UtcTicks ?? long.MaxValue);
        cmd.Parameters.AddWithValue("$limit", query.Limit is { } l ? Math.Max(0, l) : -1);
        using var reader = cmd.ExecuteReader();
        while (reader.Read())
        {
            ct.ThrowIfCancellationRequested();
            yield return ReadBar(reader, 0);
        }
    }

    public Task<IReadOnlyList<IReadOnlyList<Bar>>> GetBarsManyAsync(IReadOnlyList<BarQuery> queries, CancellationToken ct = default)
    {
        var results = new IReadOnlyList<Bar>[queries.Count];
        Array.Fill(results, []);
        using var connection = queries.Count == 0 ? null : OpenRead();
        if (connection is null) return Task.FromResult<IReadOnlyList<IReadOnlyList<Bar>>>(results);
        // One command for every range: SQLite prepares its statement once, and each range only rebinds the parameters.
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqliteBarSql.Bars;
        var symbol = cmd.Parameters.Add("$symbol", SqliteType.Text);
        var interval = cmd.Parameters.Add("$interval", SqliteType.Text);
        var from = cmd.Parameters.Add("$from", SqliteType.Integer);
        var to = cmd.Parameters.Add("$to", SqliteType.Integer);
        var limit = cmd.Parameters.Add("$limit", SqliteType.Integer);
        for (var i = 0; i < queries.Count; i++)
        {
            ct.ThrowIfCancellationRequested();
            var query = queries[i];
            symbol.Value = query.Symbol;
            interval.Value = query.Interval.Name;
            from.Value = query.From?.UtcTicks ?? long.MinValue;
            to.Value = query.To?.UtcTicks ?? long.MaxValue;
            limit.Value = query.Limit is { } l ? Math.Max(0, l) : -1;
            var bars = new List<Bar>();
            using (var reader = cmd.ExecuteReader())
                while (reader.Read()) bars.Add(ReadBar(reader, 0));
            results[i] = bars;
        }
        return Task.FromResult<IReadOnlyList<IReadOnlyList<Bar>>>(results);
    }

    public Task<IReadOnlyList<SeriesCoverage>> GetCoverageAsync(string? symbol = null, CancellationToken ct = default)
    {
        using var connection = OpenRead();
        if (connection is null) return Task.FromResult<IReadOnlyList<SeriesCoverage>>([]);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = symbol is null ? SqliteBarSql.CoverageAll : SqliteBarSql.CoverageOfSymbol;
        if (symbol is not null) cmd.Parameters.AddWithValue("$symbol", symbol);
        using var reader = cmd.ExecuteReader();
        var list = new List<SeriesCoverage>();
        while (reader.Read())
        {
            list.Add(new SeriesCoverage(reader.GetString(0), BarInterval.Parse(reader.GetString(1)),
                Ticks(reader.GetInt64(2)), Ticks(reader.GetInt64(3)), reader.GetInt64(4)));
        }
        return Task.FromResult<IReadOnlyList<SeriesCoverage>>(
            list.OrderBy(c => c.Symbol, StringComparer.Ordinal).ThenBy(c => c.Interval.Length).ToList());
    }

    internal static DateTimeOffset Ticks(long ticks) => new(ticks, TimeSpan.Zero);

    internal static Bar ReadBar(SqliteDataReader r, int o) => new(
        Ticks(r.GetInt64(o)), r.GetDouble(o + 1), r.GetDouble(o + 2), r.GetDouble(o + 3), r.GetDouble(o + 4), r.GetDouble(o + 5),
        r.IsDBNull(o + 6) ? null : r.GetDouble(o + 6), r.IsDBNull(o + 7) ? null : r.GetDouble(o + 7));
}

/// <summary>
/// The embedded offline store: <c>bars.db</c> in the data directory (WAL, one writer at a time), with its outbox
/// table in the same file so a write and its events commit together. Times are stored as UTC ticks.
/// </summary>
public sealed class SqliteBarStore : SqliteBarReader, IBarStore
{
    public const string Schema = SqliteBarSql.Schema;

    private readonly Lazy<SqliteFile> _file;
    private readonly OutboxSignal _signal = new();

    public SqliteBarStore(string path) : base(path) =>
        _file = new Lazy<SqliteFile>(() => SqliteFile.Open(Path, Schema).Migrate(SqliteBarSql.MigrateSeriesNeeded, SqliteBarSql.MigrateSeries),
            LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The store in a data directory: <c>{dataDir}/bars.db</c>.</summary>
    public static SqliteBarStore InDataDir(string dataDir) => new(System.IO.Path.Combine(dataDir, FileName));

    protected override SqliteConnection OpenRead() => _file.Value.OpenConnection();

    public Task InitializeAsync(CancellationToken ct = default)
    {
        _ = _file.Value;
        return Task.CompletedTask;
    }

    public Task<BarWriteResult> WriteAsync(BarWrite write, CancellationToken ct = default)
    {
        var problems = BarValidation.CheckBatch(write.Bars);
        if (problems.Count > 0) throw new InvalidBarsException(problems);

        using var connection = _file.Value.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        using var merge = new Merger(connection, tx, write.OnConflict);
        foreach (var sb in write.Bars)
        {
            ct.ThrowIfCancellationRequested();
            merge.Add(sb.Symbol, sb.Interval, sb.Bar);
        }
        if (merge.Conflicts.Count > 0)
        {
            tx.Rollback();
            return Task.FromResult(BarWriteResult.Rejected(merge.Conflicts));
        }
        var changes = Summarise(merge.Changed);
        var events = Events(write, changes, merge.Changed);
        Finish(connection, tx, merge.Added, events);
        return Task.FromResult(new BarWriteResult(merge.Inserted, merge.Updated, merge.Unchanged, [], changes, events.Count));
    }

    public Task<BarWriteResult> WriteSeriesAsync(SeriesWrite write, CancellationToken ct = default)
    {
        var batch = write.Batch;
        if (batch.Count == 0) return Task.FromResult(new BarWriteResult(0, 0, 0, [], [], 0) { Path = SeriesWritePath.None });
        var first = batch.First;
        var last = batch.Last.Time;

        using var connection = _file.Value.OpenConnection();
        using var tx = connection.BeginTransaction(deferred: false);
        bool occupied;
        using (var check = connection.CreateCommand())
        {
            check.Transaction = tx;
            check.CommandText = SqliteBarSql.RangeHasBars;
            check.Parameters.AddWithValue("$symbol", batch.Symbol);
            check.Parameters.AddWithValue("$interval", batch.Interval.Name);
            check.Parameters.AddWithValue("$from", first.UtcTicks);
            check.Parameters.AddWithValue("$to", last.UtcTicks);
            occupied = (long)check.ExecuteScalar()! == 1;
        }

        List<OutgoingEvent> events;
        if (!occupied)
        {
            // Nothing stored in [first, last] and the file locked for writing: every bar is new, inserted as it is (a key
            // that existed anyway would fail the insert and roll everything back).
            // A cache that holds the whole insert, so SQLite does not spill half-built pages to the WAL and redo them.
            SetCacheSize(connection, ImportCacheKiB);
            try
            {
                InsertNew(connection, batch, ct);
            }
            finally
            {
                SetCacheSize(connection, DefaultCacheKiB);
            }
            var change = new SeriesChange(batch.Symbol, batch.Interval, first, last, batch.Count);
            events = write.PerSeries is { } perSeries ? [perSeries(change)] : [];
            Finish(connection, tx, new() { [(batch.Symbol, batch.Interval)] = (first.UtcTicks, last.UtcTicks, batch.Count) }, events);
            return Task.FromResult(new BarWriteResult(batch.Count, 0, 0, [], [change], events.Count) { Path = SeriesWritePath.Direct });
        }

        using var merge = new Merger(connection, tx, write.OnConflict);
        var bars = batch.Memory;
        for (var i = 0; i < bars.Length; i++)
        {
            if ((i & 0xFFF) == 0) ct.ThrowIfCancellationRequested();
            merge.Add(batch.Symbol, batch.Interval, bars.Span[i]);
        }
        if (merge.Conflicts.Count > 0)
        {
            tx.Rollback();
            return Task.FromResult(BarWriteResult.Rejected(merge.Conflicts) with { Path = SeriesWritePath.Merge });
        }
        var changes = Summarise(merge.Changed);
        events = write.PerSeries is { } perSeriesMerged ? changes.Select(perSeriesMerged).ToList() : [];
        Finish(connection, tx, merge.Added, events);
        return Task.FromResult(new BarWriteResult(merge.Inserted, merge.Updated, merge.Unchanged, [], changes, events.Count) { Path = SeriesWritePath.Merge });
    }

    /// <summary>
    /// The direct path: one prepared INSERT stepped per bar through SQLite's own API (the symbol and interval bound once),
    /// which spares the per-row parameter objects of ADO.NET.
    /// </summary>
    private static void InsertNew(SqliteConnection connection, SeriesBatch batch, CancellationToken ct)
    {
        var db = connection.Handle!;
        using var stmt = PrepareInsertNew(db, batch);
        InsertRows(db, stmt, batch.Bars, ct);
    }

    private static sqlite3_stmt PrepareInsertNew(sqlite3 db, SeriesBatch batch)
    {
        Check(raw.sqlite3_prepare_v2(db, SqliteBarSql.InsertNewBar, out var stmt), db);
        Check(raw.sqlite3_bind_text(stmt, 1, batch.Symbol), db);
        Check(raw.sqlite3_bind_text(stmt, 2, batch.Interval.Name), db);
        return stmt;
    }

    /// <summary>Steps the prepared plain INSERT once per bar (the symbol and interval are bound once, in <see cref="PrepareInsertNew"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InsertRows(sqlite3 db, sqlite3_stmt stmt, ReadOnlySpan<Bar> bars, CancellationToken ct)
    {
        for (var i = 0; i < bars.Length; i++)
        {
            if ((i & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            ref readonly var b = ref bars[i];
            raw.sqlite3_bind_int64(stmt, 3, b.Time.UtcTicks);
            raw.sqlite3_bind_double(stmt, 4, b.Open);
            raw.sqlite3_bind_double(stmt, 5, b.High);
            raw.sqlite3_bind_double(stmt, 6, b.Low);
            raw.sqlite3_bind_double(stmt, 7, b.Close);
            raw.sqlite3_bind_double(stmt, 8, b.Volume);
            if (b.AdjClose is { } adj) raw.sqlite3_bind_double(stmt, 9, adj); else raw.sqlite3_bind_null(stmt, 9);
            if (b.Vwap is { } vwap) raw.sqlite3_bind_double(stmt, 10, vwap); else raw.sqlite3_bind_null(stmt, 10);
            var rc = raw.sqlite3_step(stmt);
            raw.sqlite3_reset(stmt);
            if (rc != raw.SQLITE_DONE) Check(rc, db);
        }
    }

    /// <summary>
    /// A streamed direct write, when no bar of the series is stored at or after the batch's first bar: the write
    /// transaction starts now and a worker thread inserts each handed-over run of bars while the caller reads on, so
    /// inserting and parsing use two cores. The file stays locked for writing until the commit or the dispose.
    /// </summary>
    public Task<ISeriesAppend?> BeginAppendAsync(SeriesBatch batch, CancellationToken ct = default)
    {
        if (batch.Count == 0) return Task.FromResult<ISeriesAppend?>(null);
        var connection = _file.Value.OpenConnection();
        SqliteTransaction? tx = null;
        try
        {
            tx = connection.BeginTransaction(deferred: false);
            using (var check = connection.CreateCommand())
            {
                check.Transaction = tx;
                check.CommandText = SqliteBarSql.RangeHasBars;
                check.Parameters.AddWithValue("$symbol", batch.Symbol);
                check.Parameters.AddWithValue("$interval", batch.Interval.Name);
                check.Parameters.AddWithValue("$from", batch.First.UtcTicks);
                check.Parameters.AddWithValue("$to", BarValidation.MaxTime.UtcTicks);
                if ((long)check.ExecuteScalar()! == 1)
                {
                    tx.Dispose();
                    connection.Dispose();
                    return Task.FromResult<ISeriesAppend?>(null);
                }
            }
            return Task.FromResult<ISeriesAppend?>(new Append(this, connection, tx, batch));
        }
        catch
        {
            tx?.Dispose();
            connection.Dispose();
            throw;
        }
    }

    private sealed class Append : ISeriesAppend
    {
        private readonly SqliteBarStore _store;
        private readonly SqliteConnection _connection;
        private readonly SqliteTransaction _tx;
        private readonly SeriesBatch _batch;
        private readonly sqlite3_stmt _stmt;
        private readonly System.Collections.Concurrent.BlockingCollection<ReadOnlyMemory<Bar>> _runs = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _worker;
        private int _sent;
        private bool _disposed;

        public Append(SqliteBarStore store, SqliteConnection connection, SqliteTransaction tx, SeriesBatch batch)
        {
            (_store, _connection, _tx, _batch) = (store, connection, tx, batch);
            // A cache that holds the whole insert, so SQLite does not spill half-built pages to the WAL and redo them.
            SetCacheSize(connection, ImportCacheKiB);
            _stmt = PrepareInsertNew(connection.Handle!, batch);
            _worker = Task.Factory.StartNew(Insert, TaskCreationOptions.LongRunning);
        }

        private void Insert()
        {
            var db = _connection.Handle!;
            foreach (var run in _runs.GetConsumingEnumerable(_stop.Token)) InsertRows(db, _stmt, run.Span, _stop.Token);
        }

        public void Send()
        {
            // A failed insert fails the import now rather than at the commit.
            if (_worker.IsFaulted) _worker.GetAwaiter().GetResult();
            var count = _batch.Count;
            if (count == _sent) return;
            // The batch only appends, so the bars handed over never change (a grown batch leaves them in the old array).
            _runs.Add(_batch.Memory[_sent..count]);
            _sent = count;
        }

        public async Task<BarWriteResult> CommitAsync(Func<SeriesChange, OutgoingEvent>? perSeries, CancellationToken ct = default)
        {
            Send();
            _runs.CompleteAdding();
            await _worker.WaitAsync(ct);
            _stmt.Dispose();
            SetCacheSize(_connection, DefaultCacheKiB);
            var change = new SeriesChange(_batch.Symbol, _batch.Interval, _batch.First, _batch.Last.Time, _batch.Count);
            var events = perSeries is not null ? new List<OutgoingEvent> { perSeries(change) } : [];
            _store.Finish(_connection, _tx, new() { [(_batch.Symbol, _batch.Interval)] = (change.From.UtcTicks, change.To.UtcTicks, _batch.Count) }, events);
            return new BarWriteResult(_batch.Count, 0, 0, [], [change], events.Count) { Path = SeriesWritePath.Direct };
        }

        public async ValueTask DisposeAsync()
        {
            if (_disposed) return;
            _disposed = true;
            if (!_runs.IsAddingCompleted) _runs.CompleteAdding();
            _stop.Cancel();
            try
            {
                await _worker;
            }
            catch (Exception ex) when (ex is OperationCanceledException or SqliteException)
            {
                // Stopped or failed: either way the rollback below discards what it inserted.
            }
            _stmt.Dispose();
            try
            {
                SetCacheSize(_connection, DefaultCacheKiB);
            }
            finally
            {
                _tx.Dispose();
                _connection.Dispose();
                _stop.Dispose();
                _runs.Dispose();
            }
        }
    }

    private const int ImportCacheKiB = 256 * 1024;
    private const int DefaultCacheKiB = 2000;

    private static void SetCacheSize(SqliteConnection connection, int kib)
    {
        using var pragma = connection.CreateCommand();
        pragma.CommandText = $"PRAGMA cache_size = -{kib}";
        pragma.ExecuteNonQuery();
    }

    private static void Check(int rc, SQLitePCL.sqlite3 db)
    {
        if (rc is not (raw.SQLITE_OK or raw.SQLITE_DONE or raw.SQLITE_ROW)) SqliteException.ThrowExceptionForRC(rc, db);
    }

    /// <summary>Adds the inserted bars to <c>series</c>, writes the events into the outbox and commits.</summary>
    private void Finish(SqliteConnection connection, SqliteTransaction tx,
        Dictionary<(string Symbol, BarInterval Interval), (long First, long Last, long Count)> added, List<OutgoingEvent> events)
    {
        if (added.Count > 0)
        {
            using var series = connection.CreateCommand();
            series.Transaction = tx;
            series.CommandText = SqliteBarSql.AddToSeries;
            foreach (var ((symbol, interval), (first, last, count)) in added)
            {
                series.Parameters.Clear();
                series.Parameters.AddWithValue("$symbol", symbol);
                series.Parameters.AddWithValue("$interval", interval.Name);
                series.Parameters.AddWithValue("$first", first);
                series.Parameters.AddWithValue("$last", last);
                series.Parameters.AddWithValue("$count", count);
                series.ExecuteNonQuery();
            }
        }

        if (events.Count > 0)
        {
            using var outbox = connection.CreateCommand();
            outbox.Transaction = tx;
            outbox.CommandText = SqliteBarSql.InsertOutbox;
            var topic = outbox.Parameters.Add("$topic", SqliteType.Text);
            var id = outbox.Parameters.Add("$id", SqliteType.Text);
            var type = outbox.Parameters.Add("$type", SqliteType.Text);
            var pk = outbox.Parameters.Add("$pk", SqliteType.Text);
            var data = outbox.Parameters.Add("$data", SqliteType.Blob);
            outbox.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.UtcTicks);
            foreach (var e in events)
            {
                topic.Value = e.Topic;
                id.Value = e.Id;
                type.Value = e.Type;
                pk.Value = (object?)e.PartitionKey ?? DBNull.Value;
                data.Value = e.Data.ToArray();
                outbox.ExecuteNonQuery();
            }
        }
        tx.Commit();
        if (events.Count > 0) _signal.Notify();
    }

    /// <summary>
    /// The merge path, one bar at a time: insert when the key is new, otherwise compare with the stored bar and count it
    /// unchanged, record a conflict or update it, by <see cref="ConflictPolicy"/>.
    /// </summary>
    private sealed class Merger : IDisposable
    {
        private readonly SqliteCommand _select, _insert, _update;
        private readonly SqliteParameter _sSymbol, _sInterval, _sTime;
        private readonly SqliteParameter[] _p, _u;
        private readonly ConflictPolicy _onConflict;

        public Merger(SqliteConnection connection, SqliteTransaction tx, ConflictPolicy onConflict)
        {
            _onConflict = onConflict;
            _select = connection.CreateCommand();
            _select.Transaction = tx;
            _select.CommandText = SqliteBarSql.StoredBar;
            _sSymbol = _select.Parameters.Add("$symbol", SqliteType.Text);
            _sInterval = _select.Parameters.Add("$interval", SqliteType.Text);
            _sTime = _select.Parameters.Add("$time", SqliteType.Integer);
            _insert = connection.CreateCommand();
            _insert.Transaction = tx;
            _insert.CommandText = SqliteBarSql.InsertBar;
            _p = Parameters(_insert);
            _insert.Prepare();
            _update = connection.CreateCommand();
            _update.Transaction = tx;
            _update.CommandText = SqliteBarSql.UpdateBar;
            _u = Parameters(_update);
        }

        private static SqliteParameter[] Parameters(SqliteCommand cmd) =>
            new[] { "$symbol", "$interval", "$time", "$open", "$high", "$low", "$close", "$volume", "$adj", "$vwap" }
                .Select(n => cmd.Parameters.Add(n, n is "$symbol" or "$interval" ? SqliteType.Text : n == "$time" ? SqliteType.Integer : SqliteType.Real))
                .ToArray();

        public long Inserted, Updated, Unchanged;
        public readonly List<BarConflict> Conflicts = [];
        public readonly List<SymbolBar> Changed = [];
        public readonly Dictionary<(string Symbol, BarInterval Interval), (long First, long Last, long Count)> Added = [];

        public void Add(string symbol, BarInterval interval, in Bar bar)
        {
            var sb = new SymbolBar(symbol, interval, bar);
            Bind(_p, sb);
            if (_insert.ExecuteNonQuery() == 1)
            {
                Inserted++;
                Changed.Add(sb);
                var t = bar.Time.UtcTicks;
                Added[(symbol, interval)] = Added.TryGetValue((symbol, interval), out var a)
                    ? (Math.Min(a.First, t), Math.Max(a.Last, t), a.Count + 1)
                    : (t, t, 1);
                return;
            }
            _sSymbol.Value = symbol;
            _sInterval.Value = interval.Name;
            _sTime.Value = bar.Time.UtcTicks;
            Bar stored;
            using (var reader = _select.ExecuteReader())
            {
                reader.Read();
                stored = ReadBar(reader, 0);
            }
            if (BarEquality.Same(stored, bar)) { Unchanged++; return; }
            if (_onConflict == ConflictPolicy.Reject)
            {
                Conflicts.Add(new BarConflict(sb with { Bar = stored }, sb));
                return;
            }
            Bind(_u, sb);
            _update.ExecuteNonQuery();
            Updated++;
            Changed.Add(sb);
        }

        public void Dispose()
        {
            _select.Dispose();
            _insert.Dispose();
            _update.Dispose();
        }
    }

    private static void Bind(SqliteParameter[] p, in SymbolBar sb)
    {
        p[0].Value = sb.Symbol;
        p[1].Value = sb.Interval.Name;
        p[2].Value = sb.Bar.Time.UtcTicks;
        p[3].Value = sb.Bar.Open;
        p[4].Value = sb.Bar.High;
        p[5].Value = sb.Bar.Low;
        p[6].Value = sb.Bar.Close;
        p[7].Value = sb.Bar.Volume;
        p[8].Value = sb.Bar.AdjClose is { } a ? a : DBNull.Value;
        p[9].Value = sb.Bar.Vwap is { } v ? v : DBNull.Value;
    }

    internal static List<SeriesChange> Summarise(IEnumerable<SymbolBar> changed) =>
        changed.GroupBy(b => (b.Symbol, b.Interval))
            .Select(g => new SeriesChange(g.Key.Symbol, g.Key.Interval, g.Min(b => b.Bar.Time), g.Max(b => b.Bar.Time), g.LongCount()))
            .ToList();

    internal static List<OutgoingEvent> Events(BarWrite write, IReadOnlyList<SeriesChange> changes, IReadOnlyList<SymbolBar> changed)
    {
        var events = new List<OutgoingEvent>();
        if (write.PerSeries is { } perSeries) events.AddRange(changes.Select(perSeries));
        if (write.PerBar is { } perBar)
            events.AddRange((write.PerBarScope == EventScope.All ? write.Bars : changed).Select(perBar));
        return events;
    }

    public async Task<int> RelayOutboxAsync(Func<IReadOnlyList<OutboxMessage>, CancellationToken, Task> publish, int max = 512, CancellationToken ct = default)
    {
        var pending = new List<OutboxMessage>();
        using (var connection = _file.Value.OpenConnection())
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = SqliteBarSql.PendingOutbox;
            cmd.Parameters.AddWithValue("$max", max);
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                pending.Add(new OutboxMessage(reader.GetInt64(0), new OutgoingEvent(reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    (byte[])reader.GetValue(5), reader.IsDBNull(4) ? null : reader.GetString(4))));
            }
        }
        if (pending.Count == 0) return 0;
        await publish(pending, ct);
        using (var connection = _file.Value.OpenConnection())
        using (var tx = connection.BeginTransaction(deferred: false))
        using (var mark = connection.CreateCommand())
        {
            mark.Transaction = tx;
            mark.CommandText = SqliteBarSql.MarkSent;
            mark.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.UtcTicks);
            var id = mark.Parameters.Add("$id", SqliteType.Integer);
            foreach (var m in pending)
            {
                id.Value = m.Id;
                mark.ExecuteNonQuery();
            }
            tx.Commit();
        }
        return pending.Count;
    }

    public Task<long> PendingOutboxCountAsync(CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqliteBarSql.CountPending;
        return Task.FromResult((long)cmd.ExecuteScalar()!);
    }

    public Task<int> PurgeSentOutboxAsync(TimeSpan age, CancellationToken ct = default)
    {
        using var connection = _file.Value.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = SqliteBarSql.PurgeSent;
        cmd.Parameters.AddWithValue("$before", (DateTimeOffset.UtcNow - age).UtcTicks);
        return Task.FromResult(cmd.ExecuteNonQuery());
    }

    public Task WaitForOutboxAsync(TimeSpan poll, CancellationToken ct) => _signal.WaitAsync(poll, ct);
}
