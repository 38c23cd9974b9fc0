using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.PubSub;

namespace Platform.BuildingBlocks.Embedded;

/// <summary>Delivery settings of the embedded bus.</summary>
public sealed class EmbeddedDeliveryOptions
{
    /// <summary>How often a subscriber looks for events appended by other processes.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a consumer's lease on a (group, topic) cursor lasts without renewal; a killed process's lease expires after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Events read per batch; the cursor is committed at least once per batch. A subscription with a batch handler
    /// receives up to this many events in one call.
    /// </summary>
    public int BatchSize { get; set; } = 1024;

    /// <summary>Longest time acknowledged deliveries wait before the cursor is committed.</summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromMilliseconds(20);
}

/// <summary>
/// Delivers the log to this app's subscriptions: at-least-once, in log order per topic, one consumer per
/// (app id, topic) at a time across processes (an expiring lease on the cursor row). A handler's failure is
/// retried with back-off; after the attempt limit, or at once for <see cref="DeliveryResult.Drop"/>, the event
/// moves to the dead-letter topic in the same transaction that advances the cursor, so it is never lost.
/// Acknowledgements are committed at most every <see cref="EmbeddedDeliveryOptions.CommitInterval"/> (and when the consumer
/// stops); a process killed in between redelivers what it had not committed.
/// </summary>
public sealed class EmbeddedSubscriber(
    EventLog log, string appId, SubscriptionRegistry registry, IServiceProvider services,
    PubSubOptions pubSubOptions, EmbeddedDeliveryOptions options, ILogger<EmbeddedSubscriber> logger) : BackgroundService
{
    private readonly string _owner = $"{Environment.ProcessId}:{Guid.NewGuid():N}";

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(registry.Subscriptions.Select(s => Task.Run(() => RunAsync(s, stoppingToken), CancellationToken.None)));

    private async Task RunAsync(Subscription subscription, CancellationToken ct)
    {
        log.Follow(subscription.Topic);
        // One connection per subscription loop, reopened after a failure. The cursor is read when the lease is taken or
        // renewed and kept in memory in between, where acknowledgements advance it until they are committed.
        SqliteConnection? connection = null;
        Cursor? cursor = null;
        var leaseChecked = 0L;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                connection ??= log.File.OpenConnection();
                // Take or renew the lease every third of its duration; cursor commits renew it in between.
                if (Stopwatch.GetElapsedTime(leaseChecked) > options.LeaseDuration / 3)
                {
                    if (cursor is not null && !Commit(connection, subscription.Topic, cursor)) cursor = null;
                    if (!TryAcquireLease(connection, subscription.Topic))
                    {
                        cursor = null;
                        await Task.Delay(options.LeaseDuration / 4, ct);
                        continue;
                    }
                    leaseChecked = Stopwatch.GetTimestamp();
                    cursor = ReadCursor(connection, subscription.Topic);
                }
                cursor ??= ReadCursor(connection, subscription.Topic);
                var nextAppend = log.NextAppend;
                switch (await DeliverBatchAsync(connection, subscription, cursor, ct))
                {
                    case BatchOutcome.Idle:
                        // Nothing more to deliver: acknowledgements not yet due are committed when the interval is up,
                        // unless more events arrive first.
                        if (!CommitIfDue(connection, subscription.Topic, cursor)) goto case BatchOutcome.LeaseLost;
                        var wait = cursor.Position == cursor.Committed
                            ? options.PollInterval
                            : options.CommitInterval - Stopwatch.GetElapsedTime(cursor.CommittedAt);
                        await EventLog.WaitForAppendAsync(nextAppend, wait > TimeSpan.Zero ? wait : TimeSpan.Zero, ct);
                        break;
                    case BatchOutcome.LeaseLost:
                        logger.LogWarning("Lost the lease on {Topic} for {AppId}; another consumer redelivers from its last commit", subscription.Topic, appId);
                        cursor = null;
                        leaseChecked = 0;
                        break;
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                connection?.Dispose();
                connection = null;
                cursor = null;
                logger.LogError(ex, "Subscriber {AppId}/{Topic} failed; retrying", appId, subscription.Topic);
                await Task.Delay(options.PollInterval, CancellationToken.None);
            }
        }
        connection?.Dispose();
        ReleaseLease(subscription.Topic, cursor);
    }

    private enum BatchOutcome { Idle, Delivered, LeaseLost }

    /// <summary>
    /// Where a consumer is: <see cref="Position"/> is the last acknowledged sequence number, <see cref="Committed"/> the
    /// last one written to the cursor row, at most <see cref="EmbeddedDeliveryOptions.CommitInterval"/> behind.
    /// </summary>
    private sealed class Cursor(long position, int attempts)
    {
        public long Position = position;
        public int Attempts = attempts;
        public long Committed = position;
        public long CommittedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Writes the acknowledged position if it moved; false when another consumer has taken the lease over.</summary>
    private bool Commit(SqliteConnection connection, string topic, Cursor cursor)
    {
        if (cursor.Position == cursor.Committed) return true;
        if (!CommitCursor(connection, topic, cursor.Position, 0)) return false;
        cursor.Committed = cursor.Position;
        cursor.CommittedAt = Stopwatch.GetTimestamp();
        return true;
    }

    /// <summary>Commits when the last commit is older than the commit interval.</summary>
    private bool CommitIfDue(SqliteConnection connection, string topic, Cursor cursor) =>
        Stopwatch.GetElapsedTime(cursor.CommittedAt) < options.CommitInterval || Commit(connection, topic, cursor);

    /// <summary>
    /// Delivers one batch after the cursor: from the log's committed tail when it holds them (events this process just
    /// appended), read from the file otherwise.
    /// </summary>
    private async Task<BatchOutcome> DeliverBatchAsync(SqliteConnection connection, Subscription subscription, Cursor cursor, CancellationToken ct)
    {
        var batch = log.ReadTail(subscription.Topic, cursor.Position, options.BatchSize);
        if (batch.Count == 0) batch = ReadBatch(connection, subscription.Topic, cursor.Position);
        if (batch.Count == 0) return BatchOutcome.Idle;

        var from = 0;
        // A batch subscription gets the whole batch at once, unless an event is already being retried: then, as after a
        // failed batch, events go one at a time, so a failing event is retried and dead-lettered on its own.
        if (subscription.BatchHandler is { } batchHandler && cursor.Attempts == 0)
        {
            var results = await DeliverBatchAsync(batchHandler, batch, ct);
            var dropped = new List<(long Seq, CloudEvent Event)>();
            while (from < batch.Count && results[from] != DeliveryResult.Retry)
            {
                if (results[from] == DeliveryResult.Drop) dropped.Add(batch[from]);
                cursor.Position = batch[from].Seq;
                from++;
            }
            if (dropped.Count > 0)
            {
                foreach (var (_, e) in dropped)
                    logger.LogWarning("Dead-lettering {Id} ({Type}) from {Topic} to {DeadLetter} for {AppId}: handler dropped the event",
                        e.Id, e.Type, e.Topic, subscription.DeadLetterTopic, appId);
                if (!DeadLetter(connection, subscription, dropped, cursor)) return BatchOutcome.LeaseLost;
            }
            else if (!CommitIfDue(connection, subscription.Topic, cursor))
            {
                return BatchOutcome.LeaseLost;
            }
            if (from == batch.Count) return BatchOutcome.Delivered;
        }

        for (var i = from; i < batch.Count; i++)
        {
            var (seq, e) = batch[i];
            var (result, reason) = await DeliverAsync(subscription, e, ct);
            while (result == DeliveryResult.Retry)
            {
                cursor.Attempts++;
                if (cursor.Attempts >= pubSubOptions.MaxDeliveryAttempts)
                {
                    result = DeliveryResult.Drop;
                    reason = $"failed {cursor.Attempts} attempts: {reason}";
                    break;
                }
                // Persist progress and the attempt count so a restart neither redelivers acknowledged events nor forgets failures.
                if (!CommitCursor(connection, subscription.Topic, cursor.Position, cursor.Attempts)) return BatchOutcome.LeaseLost;
                cursor.Committed = cursor.Position;
                cursor.CommittedAt = Stopwatch.GetTimestamp();
                await Task.Delay(pubSubOptions.Backoff(cursor.Attempts), ct);
                (result, reason) = await DeliverAsync(subscription, e, ct);
            }

            cursor.Position = seq;
            if (result == DeliveryResult.Drop)
            {
                logger.LogWarning("Dead-lettering {Id} ({Type}) from {Topic} to {DeadLetter} for {AppId}: {Reason}",
                    e.Id, e.Type, e.Topic, subscription.DeadLetterTopic, appId, reason);
                if (!DeadLetter(connection, subscription, [(seq, e)], cursor)) return BatchOutcome.LeaseLost;
            }
            else if (cursor.Attempts > 0)
            {
                // The retried event succeeded: clear its attempt count at once.
                cursor.Attempts = 0;
                if (!CommitCursor(connection, subscription.Topic, cursor.Position, 0)) return BatchOutcome.LeaseLost;
                cursor.Committed = cursor.Position;
                cursor.CommittedAt = Stopwatch.GetTimestamp();
            }
            else if (!CommitIfDue(connection, subscription.Topic, cursor))
            {
                return BatchOutcome.LeaseLost;
            }
        }
        return BatchOutcome.Delivered;
    }

    /// <summary>One result per event; a handler that throws (or answers the wrong number of results) means retry for all.</summary>
    private async Task<IReadOnlyList<DeliveryResult>> DeliverBatchAsync(BatchEventHandlerDelegate handler, List<(long Seq, CloudEvent Event)> batch, CancellationToken ct)
    {
        var events = new CloudEvent[batch.Count];
        for (var i = 0; i < events.Length; i++) events[i] = batch[i].Event;
        try
        {
            using var span = PubSubTelemetry.StartBatchDelivery(events, appId);
            await using var scope = services.CreateAsyncScope();
            var results = await handler(scope.ServiceProvider, events, ct);
            if (results.Count == events.Length) return results;
            logger.LogWarning("Batch handler for {Topic} in {AppId} answered {Results} results for {Count} events; delivering one at a time",
                events[0].Topic, appId, results.Count, events.Length);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Batch handler for {Topic} failed on {Count} events from {Id} in {AppId}; delivering them one at a time",
                events[0].Topic, events.Length, events[0].Id, appId);
        }
        return Enumerable.Repeat(DeliveryResult.Retry, events.Length).ToArray();
    }

    /// <summary>A value task: a handler that completes at once costs no task object per event.</summary>
    private async ValueTask<(DeliveryResult Result, string Reason)> DeliverAsync(Subscription subscription, CloudEvent e, CancellationToken ct)
    {
        try
        {
            using var span = PubSubTelemetry.StartDelivery(e, appId);
            await using var scope = services.CreateAsyncScope();
            var result = await subscription.Handler(scope.ServiceProvider, e, ct);
            return (result, result == DeliveryResult.Drop ? "handler dropped the event" : "handler asked for a retry");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Handler for {Topic} failed on {Id} in {AppId}", e.Topic, e.Id, appId);
            return (DeliveryResult.Retry, ex.GetType().Name + ": " + ex.Message);
        }
    }

    private List<(long Seq, CloudEvent Event)> ReadBatch(SqliteConnection connection, string topic, long position)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT seq, id, type, source, time, data, traceparent FROM events
            WHERE topic = $topic AND seq > $position ORDER BY seq LIMIT $limit
            """;
        cmd.Parameters.AddWithValue("$topic", topic);
        cmd.Parameters.AddWithValue("$position", position);
        cmd.Parameters.AddWithValue("$limit", options.BatchSize);
        using var reader = cmd.ExecuteReader();
        var batch = new List<(long, CloudEvent)>();
        while (reader.Read())
        {
            batch.Add((reader.GetInt64(0), new CloudEvent(
                reader.GetString(1), reader.GetString(3), reader.GetString(2), topic, EventLog.PubSubName,
                DateTimeOffset.Parse(reader.GetString(4), System.Globalization.CultureInfo.InvariantCulture),
                EventLog.DataContentType, (byte[])reader[5], reader.IsDBNull(6) ? null : reader.GetString(6))));
        }
        return batch;
    }

    private Cursor ReadCursor(SqliteConnection connection, string topic)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT position, attempts FROM cursors WHERE app_id = $app AND topic = $topic";
        cmd.Parameters.AddWithValue("$app", appId);
        cmd.Parameters.AddWithValue("$topic", topic);
        using var reader = cmd.ExecuteReader();
        return reader.Read() ? new Cursor(reader.GetInt64(0), reader.GetInt32(1)) : new Cursor(0, 0);
    }

    private long LeaseUntil() => DateTimeOffset.UtcNow.Add(options.LeaseDuration).ToUnixTimeMilliseconds();

    private bool TryAcquireLease(SqliteConnection connection, string topic)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            INSERT INTO cursors(app_id, topic, position, attempts, owner, lease_until)
            VALUES ($app, $topic, 0, 0, NULL, 0) ON CONFLICT DO NOTHING;
            UPDATE cursors SET owner = $owner, lease_until = $until
            WHERE app_id = $app AND topic = $topic AND (owner IS NULL OR owner = $owner OR lease_until < $now);
            """;
        cmd.Parameters.AddWithValue("$app", appId);
        cmd.Parameters.AddWithValue("$topic", topic);
        cmd.Parameters.AddWithValue("$owner", _owner);
        cmd.Parameters.AddWithValue("$until", LeaseUntil());
        cmd.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return cmd.ExecuteNonQuery() >= 1 && IsOwner(connection, topic);
    }

    private bool IsOwner(SqliteConnection connection, string topic)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT owner FROM cursors WHERE app_id = $app AND topic = $topic";
        cmd.Parameters.AddWithValue("$app", appId);
        cmd.Parameters.AddWithValue("$topic", topic);
        return cmd.ExecuteScalar() as string == _owner;
    }

    /// <summary>Advances the cursor and renews the lease; false when another consumer has taken the lease over.</summary>
    private bool CommitCursor(SqliteConnection connection, string topic, long position, int? attempts)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            UPDATE cursors SET position = $position, attempts = COALESCE($attempts, attempts), lease_until = $until
            WHERE app_id = $app AND topic = $topic AND owner = $owner
            """;
        Bind(cmd, topic, position, attempts);
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>Copies <paramref name="events"/> to the dead-letter topic and commits the cursor's position, in one transaction.</summary>
    private bool DeadLetter(SqliteConnection connection, Subscription subscription, IReadOnlyList<(long Seq, CloudEvent Event)> events, Cursor cursor)
    {
        using var tx = connection.BeginTransaction(deferred: false);
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            UPDATE cursors SET position = $position, attempts = 0, lease_until = $until
            WHERE app_id = $app AND topic = $topic AND owner = $owner
            """;
        Bind(cmd, subscription.Topic, cursor.Position, 0);
        if (cmd.ExecuteNonQuery() != 1)
        {
            tx.Rollback();
            return false;
        }
        foreach (var (_, e) in events)
            EventLog.Insert(connection, new OutgoingEvent(subscription.DeadLetterTopic, e.Id, e.Type, e.Data), e.Source, DateTimeOffset.UtcNow,
                e.TraceParent);
        tx.Commit();
        (cursor.Committed, cursor.Attempts, cursor.CommittedAt) = (cursor.Position, 0, Stopwatch.GetTimestamp());
        return true;
    }

    private void Bind(SqliteCommand cmd, string topic, long position, int? attempts)
    {
        cmd.Parameters.AddWithValue("$position", position);
        cmd.Parameters.AddWithValue("$attempts", (object?)attempts ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$until", LeaseUntil());
        cmd.Parameters.AddWithValue("$app", appId);
        cmd.Parameters.AddWithValue("$topic", topic);
        cmd.Parameters.AddWithValue("$owner", _owner);
    }

    /// <summary>Gives the lease up, committing what the cursor acknowledged since its last commit.</summary>
    private void ReleaseLease(string topic, Cursor? cursor)
    {
        try
        {
            using var connection = log.File.OpenConnection();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = """
                UPDATE cursors SET owner = NULL, lease_until = 0, position = COALESCE($position, position)
                WHERE app_id = $app AND topic = $topic AND owner = $owner
                """;
            cmd.Parameters.AddWithValue("$position", (object?)cursor?.Position ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$app", appId);
            cmd.Parameters.AddWithValue("$topic", topic);
            cmd.Parameters.AddWithValue("$owner", _owner);
            cmd.ExecuteNonQuery();
        }
        catch (Exception ex) when (ex is SqliteException or DataFileException)
        {
            logger.LogWarning(ex, "Could not release the lease on {Topic} for {AppId}; it expires on its own", topic, appId);
        }
    }
}
