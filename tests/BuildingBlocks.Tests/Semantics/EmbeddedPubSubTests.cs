using System.Collections.Concurrent;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Platform.BuildingBlocks.Embedded;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>The pub/sub semantics suite on the embedded adapter (SQLite log, in-process delivery).</summary>
public sealed class EmbeddedPubSubTests : PubSubSemantics, IDisposable
{
    private readonly TempDir _dir = new();

    protected override async Task<ITestConsumer> StartAsync(string appId, Action<IServiceCollection> configure, int maxAttempts = 3)
    {
        var host = TestRuntime.Build(_dir.Path, appId, configure, maxAttempts);
        await host.StartAsync();
        return new HostConsumer(host);
    }

    private sealed class HostConsumer(IHost host) : ITestConsumer
    {
        public IServiceProvider Services => host.Services;

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task PublishManyAsync_TwoConcurrentBatches_EachDeliveredInOrderWithItsFields()
    {
        var received = new ConcurrentQueue<CloudEvent>();
        var host = TestRuntime.Build(_dir.Path, "many", s => s.AddRawEventHandler(Topics.MarketBars, (_, e, _) =>
        {
            received.Enqueue(e);
            return Task.FromResult(DeliveryResult.Success);
        }));
        await host.StartAsync();
        try
        {
            static List<OutgoingEvent> Batch(string prefix, int count) => Enumerable.Range(0, count).Select(i => new OutgoingEvent(
                Topics.MarketBars, $"{prefix}{i}", i % 2 == 0 ? "Even" : "Odd", StateStoreExtensions.Serialize(new { prefix, i }),
                i % 3 == 0 ? null : $"k{i % 5}")).ToList();
            var first = Batch("a", 75);
            var second = Batch("b", 40);
            var publisher = host.Services.GetRequiredService<IEventPublisher>();
            await Task.WhenAll(publisher.PublishManyAsync(first), publisher.PublishManyAsync(second));
            await TestRuntime.WaitUntilAsync(() => received.Count >= first.Count + second.Count, "every event");

            var got = received.ToArray();
            Assert.Equal(first.Select(e => e.Id), got.Where(e => e.Id.StartsWith('a')).Select(e => e.Id));
            Assert.Equal(second.Select(e => e.Id), got.Where(e => e.Id.StartsWith('b')).Select(e => e.Id));
            var sent = first.Concat(second).ToDictionary(e => e.Id);
            Assert.All(got, e => Assert.Equal((sent[e.Id].Type, Encoding.UTF8.GetString(sent[e.Id].Data.Span)), (e.Type, Encoding.UTF8.GetString(e.Data.Span))));
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task AppendAsync_FieldsChangeFromEventToEventAndCallToCall_EachRowStoresItsOwn()
    {
        var log = Embedded.EventLog.For(Path.Combine(_dir.Path, "fields.db"));
        static List<OutgoingEvent> Calls(string prefix) => Enumerable.Range(0, 12).Select(i => new OutgoingEvent(
            i % 4 == 0 ? Topics.MarketFeatures : Topics.MarketBars, $"{prefix}{i}", i % 3 == 0 ? "Odd" : "Even",
            StateStoreExtensions.Serialize(new { i }), i % 2 == 0 ? null : $"k{i % 5}")).ToList();
        var (first, second) = (Calls("a"), Calls("b"));
        // Two calls that may share a commit, with other sources and trace contexts (the second none).
        await Task.WhenAll(log.AppendAsync(first, "app-a", CancellationToken.None, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            log.AppendAsync(second, "app-b", CancellationToken.None));

        using var connection = new SqliteConnection($"Data Source={log.File.Path};Pooling=False");
        connection.Open();
        using var select = connection.CreateCommand();
        select.CommandText = "SELECT id, topic, type, source, partition_key, traceparent FROM events";
        var rows = new Dictionary<string, (string, string, string, string?, string?)>();
        using (var reader = select.ExecuteReader())
            while (reader.Read())
                rows[reader.GetString(0)] = (reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetString(5));

        Assert.Equal(first.Count + second.Count, rows.Count);
        foreach (var e in first)
            Assert.Equal((e.Topic, e.Type, "app-a", e.PartitionKey, (string?)"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), rows[e.Id]);
        foreach (var e in second) Assert.Equal((e.Topic, e.Type, "app-b", e.PartitionKey, (string?)null), rows[e.Id]);
    }

    [Fact]
    public void For_NewFile_CreatedWithTheLogsPageSize()
    {
        var log = Embedded.EventLog.For(Path.Combine(_dir.Path, "pages.db"));
        using var connection = log.File.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA page_size";
        Assert.Equal((long)Embedded.EventLog.PageSize, (long)cmd.ExecuteScalar()!);
        Assert.NotEqual(Embedded.SqliteFile.DefaultPageSize, Embedded.EventLog.PageSize);
    }

    [Fact]
    public async Task AppendAsync_ManyMegabytes_WalCopiedBackIntoTheDatabaseFile()
    {
        var log = Embedded.EventLog.For(Path.Combine(_dir.Path, "checkpoint.db"));
        var payload = StateStoreExtensions.Serialize(new { pad = new string('x', 4000) });

        // About 16 MiB in calls of 1 MiB: several times the interval at which the WAL is copied back.
        for (var call = 0; call < 16; call++)
            await log.AppendAsync(Enumerable.Range(0, 256).Select(i => new OutgoingEvent(Topics.MarketBars, $"{call}-{i}", "Padded", payload)).ToList(),
                "app-a", CancellationToken.None);

        // The copies run beside the writer: wait until the database file itself holds most of what was appended.
        var file = new FileInfo(log.File.Path);
        for (var waited = 0; file.Length < 8 << 20 && waited < 600; waited++)
        {
            await Task.Delay(50);
            file.Refresh();
        }
        Assert.True(file.Length >= 8 << 20, $"The database file holds {file.Length:N0} bytes of ~16 MiB appended; the rest is still only in the WAL.");
    }

    [Fact]
    public async Task Checkpointer_BackgroundCheckpointFails_CountsItAndTheWriterCheckpointsAfterItsNextCommit()
    {
        var counted = new ConcurrentQueue<(long Value, object? Runner)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == PubSub.PubSubTelemetry.SourceName && instrument.Name == "pubsub.log.checkpoint_failures")
                    l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => counted.Enqueue((value, tags.ToArray().Single(t => t.Key == "runner").Value)));
        listener.Start();
        var file = SqliteFile.Open(Path.Combine(_dir.Path, "failing.db"), Embedded.EventLog.Schema, SqliteSynchronous.Normal, Embedded.EventLog.PageSize);
        // The background checkpoints' connection cannot be opened (as with a full disk or a file gone from under it).
        var checkpointer = new Embedded.EventLog.Checkpointer(file, () => throw new SqliteException("unable to open database file", 14));
        using var writer = file.OpenConnection();
        checkpointer.TakeOver(writer);
        using (var insert = writer.CreateCommand())
        {
            insert.CommandText = "INSERT INTO events (topic, id, type, source, time, data) VALUES ('t', 'e1', 'T', 's', '2026-01-01', x'00')";
            insert.ExecuteNonQuery();
        }

        // A commit that makes the background checkpoint due; it fails.
        checkpointer.Appended(writer, Embedded.EventLog.Checkpointer.EveryBytes);
        await TestRuntime.WaitUntilAsync(() => checkpointer.Failures > 0, "the background checkpoint to fail", 5_000);

        Assert.Equal(1, checkpointer.Failures);
        Assert.True(checkpointer.CatchingUp);
        Assert.Contains(counted, c => c.Value == 1 && Equals(c.Runner, "background"));
        // The write loop's next commit runs the checkpoint itself, on its own connection, and it succeeds.
        checkpointer.Appended(writer, 1);
        Assert.False(checkpointer.CatchingUp);
        Assert.Equal(1, checkpointer.Failures);
    }

    [Fact]
    public async Task Checkpointer_CheckpointFailsThenSucceeds_WarnsWithTheErrorThenSaysItRecovered()
    {
        var logger = new Microsoft.Extensions.Logging.Testing.FakeLogger();
        var file = SqliteFile.Open(Path.Combine(_dir.Path, "logged.db"), Embedded.EventLog.Schema, SqliteSynchronous.Normal, Embedded.EventLog.PageSize);
        var checkpointer = new Embedded.EventLog.Checkpointer(file, () => throw new SqliteException("unable to open database file", 14), logger);
        using var writer = file.OpenConnection();
        checkpointer.TakeOver(writer);

        checkpointer.Appended(writer, Embedded.EventLog.Checkpointer.EveryBytes);
        await TestRuntime.WaitUntilAsync(() => checkpointer.Failures > 0, "the background checkpoint to fail", 5_000);
        // The write loop's own checkpoint after its next commit succeeds.
        checkpointer.Appended(writer, 1);

        var records = logger.Collector.GetSnapshot();
        Assert.Equal(2, records.Count);
        var warning = records[0];
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains(file.Path, warning.Message);
        Assert.Contains("background", warning.Message);
        Assert.Equal("unable to open database file", warning.Exception?.Message);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Information, records[1].Level);
        Assert.Contains("succeeded again (writer) after 1 failed", records[1].Message);
    }

    [Fact]
    public async Task Deliver_AnotherWriterAppendsBetweenInProcessCommits_EveryEventDeliveredInLogOrder()
    {
        var received = new ConcurrentQueue<string>();
        var host = TestRuntime.Build(_dir.Path, "tail", s =>
        {
            s.AddRawEventHandler(Topics.MarketBars, (_, e, _) =>
            {
                received.Enqueue(e.Id);
                return Task.FromResult(DeliveryResult.Success);
            });
            // No polling during the test: the subscriber looks only when this process appends.
            s.AddSingleton(new EmbeddedDeliveryOptions { PollInterval = TimeSpan.FromMinutes(5), LeaseDuration = TimeSpan.FromMinutes(5) });
        });
        await host.StartAsync();
        try
        {
            var publisher = host.Services.GetRequiredService<IEventPublisher>();
            static OutgoingEvent Event(string id) => new(Topics.MarketBars, id, "Test", StateStoreExtensions.Serialize(new { id }));
            foreach (var id in new[] { "e0", "e1", "e2" }) await publisher.PublishAsync(Event(id));
            await TestRuntime.WaitUntilAsync(() => received.Count >= 3, "the first three events");

            // Another process appends e3 to the file: a row this process's log did not commit.
            using (var other = new SqliteConnection($"Data Source={EmbeddedRuntimeExtensions.EventLogFile(_dir.Path)};Pooling=False"))
            {
                other.Open();
                using var insert = other.CreateCommand();
                insert.CommandText = "INSERT INTO events(topic, id, type, source, time, data) VALUES ($topic, 'e3', 'Test', 'other', $time, $data)";
                insert.Parameters.AddWithValue("$topic", Topics.MarketBars);
                insert.Parameters.AddWithValue("$time", DateTimeOffset.UtcNow.ToString("o"));
                insert.Parameters.AddWithValue("$data", StateStoreExtensions.Serialize(new { id = "e3" }));
                insert.ExecuteNonQuery();
            }
            foreach (var id in new[] { "e4", "e5" }) await publisher.PublishAsync(Event(id));
            await TestRuntime.WaitUntilAsync(() => received.Count >= 6, "all six events");

            Assert.Equal(["e0", "e1", "e2", "e3", "e4", "e5"], received.ToArray());
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task BatchHandler_EntriesDropAndRetry_DropDeadLetteredRetryRedeliveredRestAckedInOrder()
    {
        var deliveries = new ConcurrentQueue<string[]>();
        var attempts = new ConcurrentDictionary<string, int>();
        var dead = new ConcurrentQueue<string>();
        var host = TestRuntime.Build(_dir.Path, "bulk", s =>
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
            s.AddRawEventHandler(Topics.DeadLetter(Topics.MarketBars), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await host.StartAsync();
        try
        {
            string[] ids = ["a0", "a1", "drop", "a2", "flaky", "b0", "b1"];
            await host.Services.GetRequiredService<IEventPublisher>().PublishManyAsync(
                ids.Select(id => new OutgoingEvent(Topics.MarketBars, id, "Test", StateStoreExtensions.Serialize(new { id }))).ToList());
            await TestRuntime.WaitUntilAsync(() => dead.Count == 1 && attempts.TryGetValue("b1", out var n) && n == 2, "the dead letter and b1 again");
            await Task.Delay(100);

            // One batch of everything; then, from the entry that asked for a retry, one event at a time (at least once).
            Assert.Equal([ids, ["flaky"], ["b0"], ["b1"]], deliveries.ToArray());
            Assert.Equal(["drop"], dead);
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task BatchHandler_TypedHandlerThrowsOnOneEvent_OnlyThatEventDeadLettered()
    {
        var handled = new ConcurrentQueue<string>();
        var dead = new ConcurrentQueue<string>();
        var host = TestRuntime.Build(_dir.Path, "bulk-typed", s =>
        {
            s.AddBatchEventHandler<BarClosed>((_, batch, _) =>
            {
                if (batch.Any(d => d.Event.Symbol == "POISON")) throw new InvalidOperationException("cannot handle POISON");
                foreach (var d in batch) handled.Enqueue(d.Event.Symbol);
                return Task.CompletedTask;
            });
            s.AddRawEventHandler(Topics.DeadLetter(Topics.MarketBars), (_, e, _) => { dead.Enqueue(e.Id); return Task.FromResult(DeliveryResult.Success); });
        });
        await host.StartAsync();
        try
        {
            var time = new DateTimeOffset(2024, 1, 2, 0, 0, 0, TimeSpan.Zero);
            string[] symbols = ["A", "B", "POISON", "C"];
            var events = symbols.Select(s => EventPublisherExtensions.ToOutgoing(new BarClosed(s, "1d", time, 1, 1, 1, 1, 1))).ToList();
            events.Insert(1, new OutgoingEvent(Topics.MarketBars, "bar:malformed", nameof(BarClosed), "{\"symbol\":17}"u8.ToArray()));
            await host.Services.GetRequiredService<IEventPublisher>().PublishManyAsync(events);
            await TestRuntime.WaitUntilAsync(() => dead.Count == 2 && handled.Contains("C"), "two dead letters and C");

            Assert.Equal(["bar:malformed", events[3].Id], dead);
            Assert.Equal(["A", "B", "C"], handled);
        }
        finally
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
