using System.Collections.Concurrent;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// Batch handlers on the Dapr adapter: the topic is declared with <c>bulkSubscribe</c>, and the faithful sidecar sends
/// many events per request (daprd's bulk envelope) and reads one status per entry, retrying only the entries that failed.
/// </summary>
public sealed class DaprBulkSubscribeTests : IAsyncLifetime
{
    private readonly SidecarCluster _cluster = new();

    private static OutgoingEvent Event(string id) => new(Topics.MarketBars, id, "Test", StateStoreExtensions.Serialize(new { id }));

    private Task<DaprTestApp> StartAsync(Action<IServiceCollection> configure, IDictionary<string, string?>? settings = null) =>
        DaprTestApp.StartAsync(_cluster, "bulk", configure, settings);

    private static void DeadLetters(IServiceCollection s, ConcurrentQueue<string> dead) =>
        s.AddRawEventHandler(Topics.DeadLetter(Topics.MarketBars), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });

    [Fact]
    public async Task MapDaprEndpoints_BatchHandler_DeclaresBulkSubscribeWithConfiguredLimits()
    {
        await using var app = await StartAsync(s =>
        {
            s.GetOrAddSubscriptionRegistry().AddBatch(Topics.MarketBars, "Test", (_, events, _) =>
                Task.FromResult<IReadOnlyList<DeliveryResult>>(events.Select(_ => DeliveryResult.Success).ToList()));
            s.AddRawEventHandler(Topics.DeadLetter(Topics.MarketBars), (_, _, _) => Task.FromResult(DeliveryResult.Success));
        }, new Dictionary<string, string?> { ["Dapr:BulkSubscribe:MaxMessages"] = "7", ["Dapr:BulkSubscribe:MaxAwait"] = "0.05" });

        var bars = Assert.Single(app.Sidecar.Subscriptions, s => s.Topic == Topics.MarketBars);
        Assert.Equal(new BulkSubscribe(7, TimeSpan.FromMilliseconds(50)), bars.Bulk);
        Assert.Null(Assert.Single(app.Sidecar.Subscriptions, s => s.Topic == Topics.DeadLetter(Topics.MarketBars)).Bulk);
    }

    [Fact]
    public async Task Deliver_BurstToBatchHandler_ManyEventsPerRequestEachOnceInOrder()
    {
        var handled = new ConcurrentQueue<string>();
        await using var app = await StartAsync(s => s.GetOrAddSubscriptionRegistry().AddBatch(Topics.MarketBars, "Test", (_, events, _) =>
        {
            foreach (var e in events) handled.Enqueue(e.Id);
            return Task.FromResult<IReadOnlyList<DeliveryResult>>(events.Select(_ => DeliveryResult.Success).ToList());
        }));
        var ids = Enumerable.Range(0, 250).Select(i => $"e{i:D3}").ToList();
        await app.Publisher.PublishManyAsync(ids.Select(Event).ToList());

        await TestRuntime.WaitUntilAsync(() => handled.Count >= ids.Count, "every event handled");
        await Task.Delay(100);
        Assert.Equal(ids, handled);
        var attempts = _cluster.Broker.Attempts.Where(a => a.Topic == Topics.MarketBars).ToList();
        Assert.All(attempts, a => Assert.Equal("Success", a.Outcome));
        Assert.True(attempts.Max(a => a.BatchSize) > 1, "the sidecar never put two events in one request");
        Assert.True(attempts.Max(a => a.BatchSize) <= 100, "a request carried more than bulkSubscribe's maxMessagesCount");
    }

    [Fact]
    public async Task Deliver_EntriesDropAndRetry_DropDeadLetteredOnlyRetriedEntryRedelivered()
    {
        var deliveries = new ConcurrentQueue<string[]>();
        var attempts = new ConcurrentDictionary<string, int>();
        var dead = new ConcurrentQueue<string>();
        await using var app = await StartAsync(s =>
        {
            s.GetOrAddSubscriptionRegistry().AddBatch(Topics.MarketBars, "Test", (_, events, _) =>
            {
                deliveries.Enqueue(events.Select(e => e.Id).ToArray());
                IReadOnlyList<DeliveryResult> results = events.Select(e => attempts.AddOrUpdate(e.Id, 1, (_, n) => n + 1) switch
                {
                    _ when e.Id == "drop" => DeliveryResult.Drop,
                    1 when e.Id == "flaky" => DeliveryResult.Retry,
                    _ => DeliveryResult.Success,
                }).ToList();
                return Task.FromResult(results);
            });
            DeadLetters(s, dead);
        });
        string[] ids = ["a0", "a1", "drop", "a2", "flaky", "b0", "b1"];
        await app.Publisher.PublishManyAsync(ids.Select(Event).ToList());

        await TestRuntime.WaitUntilAsync(() => dead.Count == 1 && attempts.GetValueOrDefault("flaky") == 2, "the dead letter and flaky again");
        await Task.Delay(100);
        // daprd acknowledges each entry by its own status: only the entry that asked for a retry comes again.
        Assert.Equal([ids, ["flaky"]], deliveries.ToArray());
        Assert.Equal(["drop"], dead);
    }

    [Fact]
    public async Task Deliver_BatchHandlerThrowsOnce_EveryEntryRetriedTogetherInOrder()
    {
        var deliveries = new ConcurrentQueue<string[]>();
        var failed = 0;
        await using var app = await StartAsync(s => s.GetOrAddSubscriptionRegistry().AddBatch(Topics.MarketBars, "Test", (_, events, _) =>
        {
            deliveries.Enqueue(events.Select(e => e.Id).ToArray());
            if (Interlocked.Exchange(ref failed, 1) == 0) throw new InvalidOperationException("store unavailable");
            return Task.FromResult<IReadOnlyList<DeliveryResult>>(events.Select(_ => DeliveryResult.Success).ToList());
        }));
        string[] ids = ["a0", "a1", "a2", "a3"];
        await app.Publisher.PublishManyAsync(ids.Select(Event).ToList());

        await TestRuntime.WaitUntilAsync(() => deliveries.Count >= 2, "the retry");
        await Task.Delay(100);
        Assert.Equal([ids, ids], deliveries.ToArray());
        Assert.Equal(["Retry", "Success"], _cluster.Broker.Attempts.Where(a => a.Id == "a3").Select(a => a.Outcome));
    }

    [Fact]
    public async Task Deliver_MalformedEntryForTypedBatchHandler_OnlyThatEntryDeadLettered()
    {
        var handled = new ConcurrentQueue<string>();
        var dead = new ConcurrentQueue<string>();
        await using var app = await StartAsync(s =>
        {
            s.AddBatchEventHandler<BarClosed>((_, batch, _) =>
            {
                foreach (var d in batch) handled.Enqueue(d.Event.Symbol);
                return Task.CompletedTask;
            });
            DeadLetters(s, dead);
        });
        var time = new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero);
        var events = new[] { "A", "B", "C" }.Select(symbol => EventPublisherExtensions.ToOutgoing(new BarClosed(symbol, "1d", time, 1, 1, 1, 1, 1))).ToList();
        events.Insert(1, new OutgoingEvent(Topics.MarketBars, "bar:malformed", nameof(BarClosed), "{\"symbol\":17}"u8.ToArray()));
        await app.Publisher.PublishManyAsync(events);

        await TestRuntime.WaitUntilAsync(() => dead.Count == 1 && handled.Count == 3, "the dead letter and three bars");
        Assert.Equal(["bar:malformed"], dead);
        Assert.Equal(["A", "B", "C"], handled);
        Assert.DoesNotContain(_cluster.Broker.Attempts, a => a.Outcome == "Retry");
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _cluster.DisposeAsync();
}
