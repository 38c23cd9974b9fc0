using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Platform.BuildingBlocks.Embedded;

namespace Platform.BuildingBlocks.Tests.Semantics;

/// <summary>The W3C trace context crosses the embedded log: a handler runs in the publisher's trace.</summary>
public sealed class EmbeddedTraceContextTests : IDisposable
{
    private static readonly ActivitySource Test = new("Platform.Tests.TraceContext");
    private readonly TempDir _dir = new();
    private readonly ActivityListener _listener = new()
    {
        ShouldListenTo = s => s.Name is PubSubTelemetry.SourceName or "Platform.Tests.TraceContext",
        Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
    };

    public EmbeddedTraceContextTests() => ActivitySource.AddActivityListener(_listener);

    [Fact]
    public async Task Deliver_EventPublishedInsideATrace_HandlerRunsInThatTrace()
    {
        var seen = new ConcurrentQueue<(ActivityTraceId? Trace, string? TraceParent, ActivityKind? Kind)>();
        using var host = TestRuntime.Build(_dir.Path, "c1", s => s.AddRawEventHandler(Topics.MarketBars, (_, e, _) =>
        {
            seen.Enqueue((Activity.Current?.TraceId, e.TraceParent, Activity.Current?.Kind));
            return Task.FromResult(DeliveryResult.Success);
        }));
        await host.StartAsync();

        ActivityTraceId trace;
        using (var request = Test.StartActivity("import request"))
        {
            trace = request!.TraceId;
            await host.Services.GetRequiredService<IEventPublisher>().PublishAsync(
                new OutgoingEvent(Topics.MarketBars, "traced", "Test", StateStoreExtensions.Serialize(new { id = 1 })));
        }

        await TestRuntime.WaitUntilAsync(() => !seen.IsEmpty, "the delivery");
        var (handlerTrace, traceParent, kind) = Assert.Single(seen);
        Assert.Equal(trace, handlerTrace);
        Assert.StartsWith($"00-{trace}-", traceParent);
        Assert.Equal(ActivityKind.Consumer, kind);
        await host.StopAsync();
    }

    [Fact]
    public async Task Open_LogWrittenBeforeTraceContext_GetsTheColumnAndDeliversItsEvents()
    {
        Directory.CreateDirectory(_dir.Path);
        using (var connection = new SqliteConnection($"Data Source={EmbeddedRuntimeExtensions.EventLogFile(_dir.Path)};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = """
                CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL,
                    source TEXT NOT NULL, partition_key TEXT, time TEXT NOT NULL, data BLOB NOT NULL);
                INSERT INTO events(topic, id, type, source, time, data) VALUES ('market-bars', 'old', 'Test', 'x', '2026-01-01T00:00:00Z', X'7B7D');
                """;
            create.ExecuteNonQuery();
        }
        var seen = new ConcurrentQueue<CloudEvent>();
        using var host = TestRuntime.Build(_dir.Path, "c1", s => s.AddRawEventHandler(Topics.MarketBars, (_, e, _) =>
        {
            seen.Enqueue(e);
            return Task.FromResult(DeliveryResult.Success);
        }));
        await host.StartAsync();

        await TestRuntime.WaitUntilAsync(() => !seen.IsEmpty, "the old event");
        var old = Assert.Single(seen);
        Assert.Equal("old", old.Id);
        Assert.Null(old.TraceParent);
        await host.StopAsync();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _dir.Dispose();
    }
}
