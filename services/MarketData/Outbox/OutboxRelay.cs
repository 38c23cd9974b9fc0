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
    /// <summary>Publishes everything pending now; returns how many events went out.</summary>
    public async Task<int> DrainAsync(CancellationToken ct = default)
    {
        var total = 0;
        int sent;
        while ((sent = await store.RelayOutboxAsync(PublishAsync, options.Relay.BatchSize, ct)) > 0) total += sent;
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
                var sent = await store.RelayOutboxAsync(PublishAsync, options.Relay.BatchSize, stoppingToken);
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
