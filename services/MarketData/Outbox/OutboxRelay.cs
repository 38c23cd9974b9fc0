using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks.Embedded;
using Platform.BuildingBlocks.PubSub;
using Platform.OfflineStore;

namespace Platform.MarketData.Outbox;

/// <summary>
/// Publishes the offline store's outbox through <see cref="IEventPublisher"/> and marks rows sent. Events of one
/// partition key (symbol) go out in outbox order; a crash after publishing and before marking re-publishes the same
/// events with the same ids (at-least-once, recognisable by the consumers).
/// </summary>
public sealed class OutboxRelay(IBarStore store, IEventPublisher publisher, MarketDataOptions options, ILogger<OutboxRelay> logger) : BackgroundService
{
    /// <summary>Largest batch the relay takes when a backlog builds up (a replay at full speed, an import's events).</summary>
    public const int MaxBacklogBatch = 8192;

    private int _batch;

    /// <summary>
    /// How many events the next round takes: the configured batch size, doubled after every full round up to
    /// <see cref="MaxBacklogBatch"/> (fewer reads, publishes and marking transactions while a backlog lasts), back to the
    /// configured size after a round that emptied the outbox.
    /// </summary>
    private async Task<int> RelayRoundAsync(CancellationToken ct)
    {
        var configured = Math.Max(1, options.Relay.BatchSize);
        var asked = Math.Max(configured, Volatile.Read(ref _batch));
        var sent = await store.RelayOutboxAsync(PublishAsync, asked, ct);
        Volatile.Write(ref _batch, sent >= asked ? Math.Min(Math.Max(configured, MaxBacklogBatch), asked * 2) : configured);
        return sent;
    }

    /// <summary>Publishes everything pending now; returns how many events went out.</summary>
    public async Task<int> DrainAsync(CancellationToken ct = default)
    {
        var total = 0;
        int sent;
        while ((sent = await RelayRoundAsync(ct)) > 0) total += sent;
        return total;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        var lastPurge = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var sent = await RelayRoundAsync(stoppingToken);
                failures = 0;
                if (DateTimeOffset.UtcNow - lastPurge > TimeSpan.FromHours(1))
                {
                    await store.PurgeSentOutboxAsync(options.Relay.KeepSent, stoppingToken);
                    lastPurge = DateTimeOffset.UtcNow;
                }
                if (sent == 0) await store.WaitForOutboxAsync(options.Relay.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 100 * Math.Pow(2, Math.Min(failures, 10))));
                logger.LogWarning(ex, "Outbox relay failed ({Failures} in a row); retrying in {Delay}", failures, delay);
                try { await Task.Delay(delay, stoppingToken); } catch (OperationCanceledException) { break; }
            }
        }
    }

    private async Task PublishAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken ct)
    {
        // The embedded log appends a batch in order in one commit, which keeps the global order (replays stay in time
        // order across symbols). A batch with an event the log refuses goes out one event at a time, so only that one is
        // dropped. A broker gives order per partition key only: publish each key's events one after another, keys side by side.
        if (publisher is EmbeddedEventPublisher)
        {
            try
            {
                await publisher.PublishManyAsync(messages.Select(m => m.Event).ToList(), ct);
            }
            catch (PublishRefusedException)
            {
                foreach (var m in messages) await PublishOneAsync(m, ct);
            }
            return;
        }
        await PublishByKeyAsync(messages, ct);
    }

    private Task PublishByKeyAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken ct) =>
        Task.WhenAll(messages.GroupBy(m => m.Event.PartitionKey ?? "").Select(async group =>
        {
            foreach (var m in group) await PublishOneAsync(m, ct);
        }));

    private async Task PublishOneAsync(OutboxMessage m, CancellationToken ct)
    {
        try
        {
            await publisher.PublishAsync(m.Event, ct);
        }
        catch (PublishRefusedException ex)
        {
            // Refused before anything was written, and it would be refused again: keep the relay moving.
            logger.LogError("Outbox event {Id} on {Topic} was refused and is dropped: {Reason}", m.Event.Id, m.Event.Topic, ex.Message);
        }
    }
}

/// <summary>Publishing a sequence of events so that each partition key's events arrive in sequence order.</summary>
public static class OrderedPublish
{
    /// <summary>
    /// On the embedded log, the whole list in one append (one commit, the list's order kept across keys); on a broker,
    /// which orders per partition key only, each key's events one after another, keys side by side. A refused event fails
    /// the call (nothing after it on its key is published).
    /// </summary>
    public static Task PublishAsync(IEventPublisher publisher, IReadOnlyList<OutgoingEvent> events, CancellationToken ct)
    {
        if (events.Count == 0) return Task.CompletedTask;
        if (publisher is EmbeddedEventPublisher) return publisher.PublishManyAsync(events, ct);
        return Task.WhenAll(events.GroupBy(e => e.PartitionKey ?? "").Select(async group =>
        {
            foreach (var e in group) await publisher.PublishAsync(e, ct);
        }));
    }
}
