using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Platform.BuildingBlocks.Dapr;
using Platform.BuildingBlocks.PubSub;
using Platform.BuildingBlocks.Secrets;
using Platform.BuildingBlocks.State;
using Platform.Contracts;

namespace Platform.BuildingBlocks.Tests.Dapr;

/// <summary>
/// An app wired exactly as services are (AddBuildingBlocks chooses the runtime from DAPR_HTTP_PORT), against the fake
/// sidecar: subscriptions loaded, a publish delivered back to the app's route, state and secrets through the ports.
/// </summary>
public sealed class DaprEndToEndTests
{
    [Fact]
    public async Task App_WithDaprHttpPort_PublishesReceivesAndStoresThroughTheSidecar()
    {
        await using var fake = new FakeSidecar { ApiToken = "to-sidecar", AppApiToken = "to-app" };
        fake.Secrets["secretstore"] = new() { ["ConnectionStrings:Offline"] = "Host=pg" };
        var received = new TaskCompletionSource<(BarClosed Bar, CloudEvent Event)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await DaprTestApp.StartAsync(new Dictionary<string, string?>
        {
            ["DAPR_HTTP_PORT"] = fake.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["DAPR_API_TOKEN"] = "to-sidecar",
            ["APP_API_TOKEN"] = "to-app",
            ["DAPR_HEALTH_TIMEOUT"] = "5",
        }, services => services.AddEventHandler<BarClosed>(async (sp, bar, e, ct) =>
        {
            // The handler uses the same ports: an idempotent write to the app's private store.
            await sp.GetRequiredService<IStateStoreProvider>().PrivateStore().HandleOnceAsync(e.Id,
                _ => Task.FromResult<IReadOnlyList<StateOperation>>([StateStoreExtensions.Upsert("last/" + bar.Symbol, bar.Close)]), ct);
            received.TrySetResult((bar, e));
        }), buildingBlocks: true);

        Assert.IsType<DaprStateStoreProvider>(app.Services.GetRequiredService<IStateStoreProvider>());
        Assert.IsType<DaprEventPublisher>(app.Services.GetRequiredService<IEventPublisher>());
        Assert.Contains(fake.Requests, r => r.Path == "/v1.0/healthz/outbound");
        Assert.Contains(fake.Requests, r => r.Path == "/v1.0/metadata");

        fake.AppEndpoint = app.Endpoint;
        var subscriptions = await fake.LoadSubscriptionsAsync();
        Assert.Equal("/events/market-bars", Assert.Single(subscriptions)!["route"]!.GetValue<string>());

        var bar = new BarClosed("AAPL", "1m", new DateTimeOffset(2024, 1, 2, 14, 30, 0, TimeSpan.Zero), 1, 2, 0.5, 1.5, 100);
        await app.Services.GetRequiredService<IEventPublisher>().PublishAsync(bar);
        var (got, e) = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(bar, got);
        Assert.Equal((bar.EventId, "BarClosed", "marketdata"), (e.Id, e.Type, e.Source));
        var delivery = await fake.Deliveries.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(DeliveryVerdict.Success, delivery.Verdict);

        var store = app.Services.GetRequiredService<IStateStoreProvider>().PrivateStore();
        Assert.Equal(1.5, await store.GetAsync<double>("last/AAPL"));
        Assert.NotNull(fake.Stored("statestore", Idempotency.MarkerKey(bar.EventId)));
        Assert.Equal(StateOutcome.Ok, await store.SaveAsync("settings", new { window = 20 }));
        var (value, etag) = await store.GetWithETagAsync<JsonObject>("settings");
        Assert.Equal(20, value!["window"]!.GetValue<int>());
        Assert.Equal(StateOutcome.Conflict, await store.SaveAsync("settings", new { window = 30 }, etag + "0"));
        Assert.Equal("Host=pg", await app.Services.GetRequiredService<ISecretStore>().GetSecretAsync("ConnectionStrings:Offline"));

        // A redelivery of the same event (same CloudEvent id) has no second effect.
        await app.Services.GetRequiredService<IEventPublisher>().PublishAsync(bar with { Close = 99 });
        Assert.Equal(DeliveryVerdict.Success, (await fake.Deliveries.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10))).Verdict);
        Assert.Equal(1.5, await store.GetAsync<double>("last/AAPL"));

        fake.AssertNoViolations();
    }

    [Fact]
    public async Task App_SidecarLacksPubSub_FailsToStartNamingIt()
    {
        await using var fake = new FakeSidecar();
        fake.Components.RemoveAll(c => c.Name == "pubsub");
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => DaprTestApp.StartAsync(new Dictionary<string, string?>
        {
            ["DAPR_HTTP_PORT"] = fake.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, _ => { }, buildingBlocks: true));
        Assert.Contains("'pubsub'", ex.Message);
    }
}
