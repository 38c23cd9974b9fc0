using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.BuildingBlocks;
using Platform.BuildingBlocks.PubSub;
using Platform.Contracts;
using Platform.MarketData;
using Platform.MarketData.Demo;
using Platform.MarketData.Import;
using Platform.MarketData.Replay;
using Platform.Quant;
using Platform.ServiceDefaults;

namespace Platform.Bench.MarketData;

/// <summary>
/// Replay as fast as possible on the embedded runtime: a stored range goes out as <c>BarClosed</c> (the marketdata
/// service publishes a stored range's events straight to the bus, a step at a time), and a separate consumer group receives
/// them in batches (a batch handler, as the features service consumes them). Reports the rate at which the replay
/// published its bars, the rate at which they were delivered, and the process's CPU time until then.
/// </summary>
public sealed class ReplayBenchmark : IBenchmark
{
    public string Name => "replay";
    public string Description => "replay at max speed: BarClosed events/s published through the outbox, and delivered to a consumer";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var dataDir = Path.Combine(context.WorkDir, "data");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration["Runtime:Mode"] = "embedded";
        builder.Configuration["DataDir"] = dataDir;
        builder.Configuration["MarketData:Demo:Enabled"] = "false";
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults(AppTopology.MarketData);
        builder.AddMarketData();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var app = builder.Build();
        app.MapServiceDefaults();
        app.MapMarketData();
        await app.StartAsync(ct);

        var years = context.Quick ? 4 : 20;
        var market = DemoSeeder.Generate(10, years, 7, DateTimeOffset.UtcNow);
        var importer = app.Services.GetRequiredService<BarImporter>();
        foreach (var series in market.GroupBy(b => b.Symbol))
            await importer.ImportBarsAsync("bench:" + series.Key, new ImportOptions(series.Key) { Interval = BarInterval.OneDay },
                series.Select(b => b.Bar).ToList(), ct);
        var total = market.Count;

        var delivered = 0;
        var lastDelivery = 0L;
        var consumerBuilder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        consumerBuilder.Logging.ClearProviders();
        consumerBuilder.Configuration["Runtime:Mode"] = "embedded";
        consumerBuilder.Configuration["DataDir"] = dataDir;
        consumerBuilder.Services.AddBuildingBlocks(RuntimeSettings.From(consumerBuilder.Configuration, "replay-bench"), consumerBuilder.Configuration);
        consumerBuilder.Services.AddBatchEventHandler<BarClosed>((_, batch, _) =>
        {
            var replayed = batch.Count(d => d.Event.ReplayId is not null);
            if (replayed > 0)
            {
                Interlocked.Add(ref delivered, replayed);
                Interlocked.Exchange(ref lastDelivery, Stopwatch.GetTimestamp());
            }
            return Task.CompletedTask;
        });
        using var consumer = consumerBuilder.Build();
        await consumer.StartAsync(ct);

        var replays = app.Services.GetRequiredService<ReplayService>();
        var cpu0 = Platform.Bench.Features.FeaturesStreamingBenchmark.CpuSeconds();
        var start = Stopwatch.GetTimestamp();
        var state = await replays.StartAsync(new ReplayRequest(Symbols: market.Select(b => b.Symbol).Distinct().ToList(), Interval: "1d", Speed: "max", Id: "bench"), ct);
        await replays.WaitAsync(state.Id);
        var published = Stopwatch.GetElapsedTime(start);
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (Volatile.Read(ref delivered) < total && DateTime.UtcNow < deadline) await Task.Delay(20, ct);
        var deliveredAt = TimeSpan.FromTicks((long)((Interlocked.Read(ref lastDelivery) - start) * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency));
        var cpu = Platform.Bench.Features.FeaturesStreamingBenchmark.CpuSeconds() - cpu0;
        var final = await replays.GetAsync(state.Id, ct);
        await consumer.StopAsync(ct);
        await app.StopAsync(ct);

        var storedRate = (final?.Published ?? 0) / published.TotalSeconds;
        var deliveredRate = delivered / deliveredAt.TotalSeconds;
        context.Line($"replayed {final?.Published:N0} of {total:N0} bars (10 symbols x {years} years daily), status {final?.Status}: " +
                     $"published in {published.TotalSeconds:F2} s ({storedRate:N0} bars/s)");
        context.Line($"delivered to a separate consumer group: {delivered:N0} BarClosed in {deliveredAt.TotalSeconds:F2} s ({deliveredRate:N0} events/s); " +
                     $"{cpu:F2} s CPU in the process until then ({delivered / cpu:N0} delivered per CPU-second); " +
                     $"load average {Platform.Bench.Features.FeaturesStreamingBenchmark.LoadAverage()}");
        return $"replay: {storedRate:F0} bars/s published, {deliveredRate:F0} events/s delivered ({deliveredRate / 50_000:F2} vs 50000 events/s target)";
    }
}
