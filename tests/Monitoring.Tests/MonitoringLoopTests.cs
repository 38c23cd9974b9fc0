using Platform.BuildingBlocks.PubSub;
using Platform.Modeling.Targets;
using Platform.Monitoring.Apis;
using Platform.OfflineStore.Monitoring;
using Platform.TestSupport;

namespace Platform.Monitoring.Tests;

/// <summary>The service through its real event subscriptions and HTTP API: predictions in, outcomes joined, refusals dead-lettered.</summary>
public sealed class MonitoringLoopTests : IAsyncLifetime
{
    private MonitoringHost _host = null!;
    private readonly List<Platform.Quant.Bar> _bars = RegimeSeries.Generate(90, seed: 11);

    /// <summary>Bars 0-79 are stored before the tests; later ones arrive during a test.</summary>
    private const int Stored = 80;

    public async Task InitializeAsync()
    {
        _host = await MonitoringHost.StartAsync(new Dictionary<string, string?> { ["Monitoring:Drift:Enabled"] = "false" });
        await _host.WriteBarsAsync("AAA", _bars.Take(Stored).ToList());
        await _host.RegisterAsync("ret", MonitoringHost.Lineage("return", 5, ["AAA"], _bars[0].Time, _bars[40].Time));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private PredictionMade Prediction(int bar, string id, string model = "ret", int version = 1, double value = 0.01) =>
        new(id, model, version, "AAA", _bars[bar].Time, 5, value, "1d", "return");

    private async Task<PredictionPage> PageAsync(string query = "") =>
        await _host.GetAsync<PredictionPage>($"/v1/monitoring/models/ret/predictions{query}");

    [Fact]
    public async Task BarAfterHorizon_StoredPrediction_IsJoinedWithTheTrainingTarget()
    {
        await _host.Publisher.PublishAsync(Prediction(78, "p78"));
        await MonitoringHost.EventuallyAsync(async () => (await PageAsync()).Items.Count == 1, "prediction stored");

        foreach (var t in new[] { 80, 81, 82, 83 }) await ArriveAsync(t); // h = 5: due at bar 83
        await MonitoringHost.EventuallyAsync(async () => (await PageAsync()).Items[0].Realised is not null, "outcome joined");

        var row = (await PageAsync()).Items.Single();
        Assert.Equal(Targets.Compute(_bars, new TargetSpec(TargetKind.Return, 5))[78], row.Realised!.Value, 12);
        Assert.Equal(_bars[83].Time, row.KnownAt);
    }

    [Fact]
    public async Task PredictionAfterTheBarsThatSettleIt_IsJoinedWithoutAnotherBar()
    {
        await _host.Publisher.PublishAsync(Prediction(50, "late"));

        await MonitoringHost.EventuallyAsync(async () => (await PageAsync()).Items is [{ Realised: not null }], "late prediction joined");
        var row = (await PageAsync()).Items.Single();
        Assert.Equal(Targets.Compute(_bars, new TargetSpec(TargetKind.Return, 5))[50], row.Realised!.Value, 12);
        Assert.Equal(_bars[55].Time, row.KnownAt);
    }

    /// <summary>Bar <paramref name="t"/> is stored and its BarClosed published, as marketdata does.</summary>
    private async Task ArriveAsync(int t)
    {
        await _host.WriteBarsAsync("AAA", [_bars[t]]);
        await _host.PublishBarAsync("AAA", _bars[t]);
    }

    [Fact]
    public async Task ReferenceAsync_UnreadableReferenceFile_IsTreatedAsMissing()
    {
        await _host.Registry.SaveFilesAsync("ret", 1,
            [new Platform.Modeling.Reports.ReportFile(Platform.Modeling.Drift.ModelReference.FileName, "application/json", Encoding.UTF8.GetBytes("{not json"))]);

        var reference = await _host.Services.GetRequiredService<Platform.Monitoring.Predictions.ModelCatalog>().ReferenceAsync("ret", 1, CancellationToken.None);

        Assert.Null(reference);
    }

    [Fact]
    public async Task RedeliveredPredictionAndBar_ChangeNothing()
    {
        await _host.Publisher.PublishAsync(Prediction(60, "p60", value: 0.02));
        // The two topics are delivered independently: the bar joins only predictions already stored.
        await MonitoringHost.EventuallyAsync(async () => (await _host.Store.CountAsync("ret")).Predictions == 1, "prediction stored");
        await _host.PublishBarAsync("AAA", _bars[65]);
        await MonitoringHost.EventuallyAsync(async () => (await _host.Store.CountAsync("ret")) == (1, 1), "joined once");
        var first = (await PageAsync()).Items.Single();

        await _host.Publisher.PublishAsync(Prediction(60, "p60", value: 0.5));
        await _host.PublishBarAsync("AAA", _bars[65]);
        await _host.Publisher.PublishAsync(Prediction(78, "marker")); // not due: it stays unjoined
        await MonitoringHost.EventuallyAsync(async () => (await _host.Store.CountAsync("ret")).Predictions == 2, "later event processed");

        var again = (await PageAsync("?joined=true")).Items.Single();
        Assert.Equal(first, again);
        Assert.Equal(0.02, again.Prediction);
    }

    [Fact]
    public async Task UnknownModelAndMalformedEvents_AreDeadLetteredWithReasonAndDoNotBlockTheTopic()
    {
        await _host.Publisher.PublishAsync(Prediction(50, "ghost-1", model: "ghost"));
        await _host.Publisher.PublishAsync(Prediction(50, "ret-v9", version: 9));
        await _host.Publisher.PublishAsync(new OutgoingEvent(Topics.Predictions, "pred:bad", nameof(PredictionMade),
            Encoding.UTF8.GetBytes("""{"requestId":"bad","model":"ret","version":1,"symbol":"AAA","horizon":0,"value":1}"""), "AAA"));
        await _host.Publisher.PublishAsync(Prediction(50, "good"));
        await MonitoringHost.EventuallyAsync(async () => (await _host.Store.CountAsync("ret")).Predictions == 1, "valid event after the bad ones stored");

        var status = await _host.GetAsync<MonitoringStatus>("/v1/monitoring/status");
        var reasons = status.Rejected.ToDictionary(r => r.EventId, r => r.Reason);
        Assert.Contains("Unknown model 'ghost'", reasons["pred:ghost-1"]);
        Assert.Contains("has no version 9", reasons["pred:ret-v9"]);
        Assert.Contains("horizon 0", reasons["pred:bad"]);
        Assert.Equal(["good"], (await PageAsync()).Items.Select(i => i.RequestId));
        Assert.Equal(["pred:ghost-1", "pred:ret-v9", "pred:bad"], EmbeddedEventLog.Ids(_host.DataDir, Topics.DeadLetter(Topics.Predictions)));
    }

    [Fact]
    public async Task Predictions_Paged_EveryRowOnceAndBadCursorIsAProblem()
    {
        for (var i = 0; i < 5; i++) await _host.Publisher.PublishAsync(Prediction(45 + i, $"q{i}"));
        await MonitoringHost.EventuallyAsync(async () => (await _host.Store.CountAsync("ret")).Predictions == 5, "stored");

        var first = await PageAsync("?limit=3");
        var second = await PageAsync($"?limit=3&cursor={first.Next}");

        Assert.Equal(["q4", "q3", "q2", "q1", "q0"], first.Items.Concat(second.Items).Select(i => i.RequestId));
        Assert.Null(second.Next);
        var bad = await _host.Http.GetAsync(_host.Url + "/v1/monitoring/models/ret/predictions?cursor=!!");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Quality_UnknownModel_IsNotFoundProblem()
    {
        var response = await _host.Http.GetAsync(_host.Url + "/v1/monitoring/models/ghost/quality");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}

/// <summary>Drift of a volatility model's realised targets across a known regime change (volatility x2.5 at bar 400).</summary>
public sealed class DriftLoopTests() : RegimeChangeTest(seed: 21, new Dictionary<string, string?> { ["Monitoring:Drift:WindowSize"] = "60" })
{
    [Fact]
    public async Task RegimeChange_DriftDetectedAfterTheChangeAndNotBefore()
    {
        for (var t = TrainEnd + 1; t < Bars.Count; t++)
            await Host.Publisher.PublishAsync(new PredictionMade($"v{t}", "vol", 1, "AAA", Bars[t].Time, 5, 0.02, "1d", "volatility"));
        await MonitoringHost.EventuallyAsync(async () => (await Host.Store.CountAsync("vol")).Predictions == Bars.Count - TrainEnd - 1, "stored");
        for (var t = TrainEnd + 1; t < Bars.Count; t++) await Host.PublishBarAsync("AAA", Bars[t]);
        await MonitoringHost.EventuallyAsync(async () => (await Host.Store.CountAsync("vol")).Outcomes == Bars.Count - TrainEnd - 1 - 5, "joined");

        var drift = await Host.GetAsync<DriftResponse>("/v1/monitoring/models/vol/drift");
        var first = drift.Detections.MinBy(d => d.WindowEnd)!;
        Assert.True(first.WindowEnd > Bars[ChangeAt].Time, $"first detection at {first.WindowEnd:o}, the change is at {Bars[ChangeAt].Time:o}");
        Assert.True(first.WindowEnd <= Bars[ChangeAt + 60].Time, $"first detection at {first.WindowEnd:o}, more than a window after the change");
        Assert.Equal($"drift:vol:{first.WindowEnd.UtcDateTime:o}", first.EventId);
        Assert.Contains(first.Evidence, e => e is { Subject: "target", Statistic: "psi" } && e.Value > e.Threshold);
        var quality = await Host.GetAsync<QualityResponse>("/v1/monitoring/models/vol/quality?windows=20,60");
        Assert.Equal([20, 60], quality.Windows.Select(w => w.Count));
        Assert.Equal("qlike", quality.Windows[0].Metric);
    }
}

/// <summary>
/// A monitor that falls behind: every prediction is stored before the bars that settle it, then one bar settles them all
/// at once (as when bars run ahead of the predictions, or after an import). The regime change is that of
/// <see cref="DriftLoopTests"/>.
/// </summary>
public sealed class DriftCatchUpTests : IAsyncLifetime
{
    private const int TrainEnd = 299;
    private const int ChangeAt = 400;
    private readonly List<Platform.Quant.Bar> _bars = RegimeSeries.Generate(500, 21, changeAt: ChangeAt);
    private MonitoringHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await MonitoringHost.StartAsync(new Dictionary<string, string?> { ["Monitoring:Drift:WindowSize"] = "60" });
        await _host.WriteBarsAsync("AAA", _bars.Take(TrainEnd + 1).ToList());
        await _host.RegisterAsync("vol", MonitoringHost.Lineage("volatility", 5, ["AAA"], _bars[0].Time, _bars[TrainEnd].Time));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task CatchUp_OneBarSettlesEveryStoredPrediction_DriftFoundWhereTheChangeBegan()
    {
        var predictions = _bars.Count - TrainEnd - 1;
        for (var t = TrainEnd + 1; t < _bars.Count; t++)
            await _host.Publisher.PublishAsync(new PredictionMade($"v{t}", "vol", 1, "AAA", _bars[t].Time, 5, 0.02, "1d", "volatility"));
        await MonitoringHost.EventuallyAsync(async () => (await _host.Store.CountAsync("vol")).Predictions == predictions, "stored");

        await _host.WriteBarsAsync("AAA", _bars.Skip(TrainEnd + 1).ToList());
        await _host.PublishBarAsync("AAA", _bars[^1]);
        await MonitoringHost.EventuallyAsync(async () => (await _host.Store.CountAsync("vol")).Outcomes == predictions - 5, "joined");
        // Drift is evaluated once the join has written its outcomes, window by window, oldest first.
        DriftResponse drift = null!;
        await MonitoringHost.EventuallyAsync(async () =>
            (drift = await _host.GetAsync<DriftResponse>("/v1/monitoring/models/vol/drift")).Detections.Count > 0, "a drift detected");

        var first = drift.Detections.MinBy(d => d.WindowEnd)!;
        Assert.True(first.WindowEnd > _bars[ChangeAt].Time, $"first detection at {first.WindowEnd:o}, the change is at {_bars[ChangeAt].Time:o}");
        Assert.True(first.WindowEnd <= _bars[ChangeAt + 60].Time, $"first detection at {first.WindowEnd:o}, more than a window after the change");
    }
}
