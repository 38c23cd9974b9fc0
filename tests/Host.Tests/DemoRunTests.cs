using Microsoft.Extensions.DependencyInjection;
using Platform.Gateway.Identity;
using Platform.TestSupport;
using Platform.Training.Workflows;
using Platform.Workflows;

namespace Platform.Host.Tests;

/// <summary>
/// What <c>./platform run</c> promises a newcomer: the demo trains with ML.NET only, its winner passes the promotion gate on
/// stored data, and the README's prediction call answers through the gateway with that version.
/// </summary>
[Trait("Category", "Slow")]
public sealed class DemoRunTests
{
    [Fact]
    public async Task DemoBootstrap_FirstRun_PromotesAnMlNetChampionThroughTheGateAndThePredictionCallAnswers200()
    {
        var dataDir = Directory.CreateTempSubdirectory("host-demo-").FullName;
        try
        {
            await using var platform = await EmbeddedPlatform.StartAsync(new EmbeddedPlatformOptions
            {
                DataDir = dataDir, GatewayUrl = "http://127.0.0.1:0", EphemeralServicePorts = true,
            });
            var key = await DevelopmentKey.EnsureAsync(platform.Services("gateway"), CancellationToken.None);
            Assert.NotNull(key);
            using var http = new HttpClient { BaseAddress = new Uri(platform.GatewayUrl), Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Add("X-Api-Key", key);

            var run = await DemoBootstrap.StartAsync(platform, TimeSpan.FromMinutes(2), CancellationToken.None);
            Assert.Equal(DemoBootstrap.RunId, run);
            var workflows = platform.Services("training").GetRequiredService<WorkflowClient>();
            using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(10));
            var state = await workflows.WaitForWorkflowCompletionAsync(run!, cancellation: bound.Token);
            Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
            var outcome = state.ReadOutputAs<TrainingOutcome>()!;
            Assert.True(outcome.Stage == "Production", outcome.Decision);
            Assert.True(outcome.Gate!.Promote);
            Assert.All(outcome.Candidates, c => Assert.Contains(c.Spec.Kind, new[] { "fasttree", "lightgbm" }));
            Assert.Equal("store", outcome.Dataset.DataSource);

            await Eventually.UntilAsync(async () =>
            {
                using var served = await http.GetAsync("/v1/serving/models");
                return served.IsSuccessStatusCode && (await served.Content.ReadAsStringAsync()).Contains(DemoBootstrap.ModelName);
            }, $"{DemoBootstrap.ModelName} to be served", TimeSpan.FromMinutes(2));

            using var prediction = await http.PostAsJsonAsync("/v1/predictions", new { model = DemoBootstrap.ModelName, symbol = "ALPHA" });
            var body = await prediction.Content.ReadAsStringAsync();
            Assert.True(prediction.StatusCode == HttpStatusCode.OK, $"prediction answered {(int)prediction.StatusCode}: {body}");
            using var json = JsonDocument.Parse(body);
            Assert.Equal(DemoBootstrap.ModelName, json.RootElement.GetProperty("model").GetString());
            Assert.Equal(outcome.Version, json.RootElement.GetProperty("version").GetInt32());
            Assert.True(double.IsFinite(json.RootElement.GetProperty("prediction").GetDouble()));

            // The run and the demo's imports are counted where Prometheus scrapes them.
            var training = await MetricsAsync(platform, "training");
            Assert.Matches(@"workflows_runs_ended_total\{[^}]*status=""completed""[^}]*workflow=""TrainingWorkflow""[^}]*\} [1-9]", training);
            Assert.Matches(@"marketdata_imports_total\{[^}]*outcome=""imported""[^}]*\} [1-9]", await MetricsAsync(platform, "marketdata"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDir, true); } catch (IOException) { }
        }
    }

    private static async Task<string> MetricsAsync(EmbeddedPlatform platform, string app)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, platform.ServiceUrls[app] + "/metrics");
        request.Headers.Add(EmbeddedPlatform.AppTokenHeader, platform.AppToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }
}

/// <summary><c>./platform run --free-ports</c>: instances on different data directories side by side.</summary>
public sealed class SideBySideTests
{
    [Fact]
    public async Task StartAsync_TwoInstancesWithFreePorts_BothAnswerReady()
    {
        var dirs = new[] { Directory.CreateTempSubdirectory("host-a-").FullName, Directory.CreateTempSubdirectory("host-b-").FullName };
        try
        {
            await using var first = await EmbeddedPlatform.StartAsync(EmbeddedPlatformTests.Options(dirs[0]));
            await using var second = await EmbeddedPlatform.StartAsync(EmbeddedPlatformTests.Options(dirs[1]));
            using var http = new HttpClient();

            Assert.Empty(first.ServiceUrls.Values.Intersect(second.ServiceUrls.Values));
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(first.GatewayUrl + "/health/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(second.GatewayUrl + "/health/ready")).StatusCode);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var dir in dirs) try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }
}
