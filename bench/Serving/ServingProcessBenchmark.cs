using System.Net.Http.Json;
using Platform.Bench.Gateway;
using Platform.Bench.Load;
using Platform.Host;

namespace Platform.Bench.Serving;

/// <summary>
/// The serving service as its own process, as Kubernetes and <c>dapr run</c> run it (its real entry point, its own
/// runtime settings: server GC), answering <c>POST /v1/predictions</c> for the demo model from 16 connections, against a
/// second serving process with other settings (<c>--variant "KEY=VALUE;..."</c>, by default the server GC without DATAS, as
/// the gateway runs) in the same rotating rounds. The demo model is trained on the embedded platform first; each process
/// gets its own copy of that directory, so neither's writes (the prediction log) touch the other's files.
/// </summary>
public sealed class ServingProcessBenchmark : IBenchmark
{
    private const int Connections = 16;

    public string Name => "serving-process";
    public string Description => "POST /v1/predictions to the serving service as its own process vs a second one with other settings, in rotating rounds " +
        "(--rounds N, --variant \"KEY=VALUE;...\", default DOTNET_GCDynamicAdaptationMode=0)";

    public async Task<string> RunAsync(BenchContext context, CancellationToken ct)
    {
        var rounds = context.IntOption("--rounds", context.Quick ? 3 : 8);
        var length = TimeSpan.FromSeconds(context.Quick ? 2 : 4);
        var variantSettings = context.SettingsOption("--variant", fallback: "DOTNET_GCDynamicAdaptationMode=0")!;
        var settings = new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Error", ["Logging:LogLevel:Platform"] = "Error" };
        var shippedDir = Path.Combine(context.WorkDir, "shipped");
        var symbols = await LoadBenchmark.TrainDemoAsync(context, shippedDir, settings, ct);
        var variantDir = Path.Combine(context.WorkDir, "variant");
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        LoadBenchmark.CopyDirectory(shippedDir, variantDir);

        // Logs at Warning, as in production.
        var serviceSettings = new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Warning" };
        using var shipped = await BenchApps.ServiceProcess.StartAsync("Serving", shippedDir, serviceSettings);
        var variantProcessSettings = new Dictionary<string, string>(serviceSettings);
        foreach (var (key, value) in variantSettings) variantProcessSettings[key] = value;
        using var variant = await BenchApps.ServiceProcess.StartAsync("Serving", variantDir, variantProcessSettings);
        context.Line($"serving: {Connections} connections, POST /v1/predictions ({DemoBootstrap.ModelName}) over the demo symbols in turn, " +
            $"{rounds} rounds of {length.TotalSeconds:0} s phases, the order rotating; variant: a second serving process with " +
            string.Join(", ", variantSettings.Select(s => s.Key + "=" + s.Value)));

        List<(string Name, BenchApps.ServiceProcess Server, Func<HttpRequestMessage> Request)> phases =
            [("serving", shipped, Predict(shipped, symbols)), ("variant", variant, Predict(variant, symbols))];
        foreach (var (name, server, request) in phases)
        {
            await EnsureServingAsync(server, symbols, ct);
            var (warm, compiled) = await BenchApps.WarmUpAsync(server, () => BenchApps.RunAsync(Connections, TimeSpan.FromSeconds(2), request, warmUp: TimeSpan.Zero));
            context.Line($"{name,-8}: warmed up for {warm.TotalSeconds:F0} s, " +
                (compiled ? "until its tiered compilation was done" : "and its tiered compilation was still busy (measured anyway)"));
        }

        var results = phases.Select(_ => new List<BenchApps.LoadResult>()).ToArray();
        var ratios = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < phases.Count; k++)
            {
                var i = (k + round) % phases.Count;
                results[i].Add(await BenchApps.RunAsync(Connections, length, phases[i].Request, serverCpu: phases[i].Server.CpuTime,
                    warmUp: TimeSpan.FromMilliseconds(500)));
            }
            var (s, v) = (results[0][round], results[1][round]);
            ratios.Add(v.RequestsPerSecond / s.RequestsPerSecond);
            context.Line($"  round {round + 1}: serving {s.RequestsPerSecond:N0} req/s ({s.ServerCpuPerRequest.TotalMicroseconds:F1} us), " +
                $"variant {v.RequestsPerSecond:N0} req/s ({v.ServerCpuPerRequest.TotalMicroseconds:F1} us): {ratios[^1]:F2} x");
        }
        var (served, other) = (BenchApps.Merge(results[0]), BenchApps.Merge(results[1]));
        context.Line($"serving : {BenchApps.Figures(served)}  (its process alone {served.ServerCpuPerRequest.TotalMicroseconds:F1} us/request)");
        context.Line($"variant : {BenchApps.Figures(other)}  (its process alone {other.ServerCpuPerRequest.TotalMicroseconds:F1} us/request)");
        var median = BenchApps.Median(ratios);
        var faster = ratios.Count(r => r > 1);
        context.Line($"variant / serving: {median:F2} x (median of {rounds} rounds, {BenchApps.Range(ratios)}; {faster} of {rounds} faster); " +
            $"working set at the end: serving {shipped.WorkingSet() / (1024.0 * 1024):N0} MiB, variant {variant.WorkingSet() / (1024.0 * 1024):N0} MiB");
        return $"{Name}: serving {served.RequestsPerSecond:F0} req/s ({served.ServerCpuPerRequest.TotalMicroseconds:F1} us per request in its process), " +
            $"variant {other.RequestsPerSecond:F0} req/s ({other.ServerCpuPerRequest.TotalMicroseconds:F1} us): {median:F2} x, {faster} of {rounds} rounds faster";
    }

    private static Func<HttpRequestMessage> Predict(BenchApps.ServiceProcess server, IReadOnlyList<string> symbols)
    {
        var next = 0;
        return () => new HttpRequestMessage(HttpMethod.Post, server.Url + "/v1/predictions")
        {
            Content = JsonContent.Create(new { model = DemoBootstrap.ModelName, symbol = symbols[(int)((uint)Interlocked.Increment(ref next) % (uint)symbols.Count)] }),
        };
    }

    /// <summary>Each demo symbol answered once with 200 (the model loaded, its features found), within a minute.</summary>
    private static async Task EnsureServingAsync(BenchApps.ServiceProcess server, IReadOnlyList<string> symbols, CancellationToken ct)
    {
        using var client = new HttpClient();
        await LoadBenchmark.WaitUntilAsync(async () =>
        {
            foreach (var symbol in symbols)
            {
                using var response = await client.PostAsJsonAsync(server.Url + "/v1/predictions", new { model = DemoBootstrap.ModelName, symbol }, ct);
                if (!response.IsSuccessStatusCode) return false;
            }
            return true;
        }, TimeSpan.FromMinutes(1), ct);
    }
}
