using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Training.Workflows;
using Platform.Workflows;

namespace Platform.Host.Tests;

/// <summary>The first-run demo: seeded market, ML.NET-only training through the gate, a served champion.</summary>
public sealed class DemoTests
{
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Demo_FirstRun_PromotesAnMlNetChampionThatServesPredictions()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "host-demo-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var platform = await EmbeddedPlatform.StartAsync(EmbeddedPlatformTests.Options(dataDir) with
            {
                Settings = new Dictionary<string, string?> { ["MarketData:Demo:Enabled"] = "true" },
            }))
            {
                var run = await DemoBootstrap.StartAsync(platform, TimeSpan.FromMinutes(2), CancellationToken.None);
                Assert.Equal(DemoBootstrap.RunId, run);
                var workflows = platform.Services("training").GetRequiredService<WorkflowClient>();
                var deadline = DateTime.UtcNow.AddMinutes(10);
                WorkflowState state;
                while (!(state = await workflows.GetWorkflowStateAsync(run!, true)).RuntimeStatus.IsTerminal())
                {
                    Assert.True(DateTime.UtcNow < deadline, "the demo run did not finish in 10 minutes");
                    await Task.Delay(500);
                }
                Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
                var outcome = state.ReadOutputAs<TrainingOutcome>()!;
                Assert.True(outcome.Stage == "Production", outcome.Decision);
                Assert.True(outcome.Gate!.Promote);
                Assert.All(outcome.Candidates, c => Assert.Contains(c.Spec.Kind, new[] { "fasttree", "lightgbm" }));
                Assert.Equal("store", outcome.Dataset.DataSource);

                using var http = new HttpClient();
                var serving = platform.ServiceUrls["serving"];
                JsonElement prediction = default;
                var served = false;
                for (var i = 0; i < 120 && !served; i++)
                {
                    var response = await http.PostAsJsonAsync(serving + "/v1/predictions", new { model = DemoBootstrap.ModelName, symbol = "ALPHA" });
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        prediction = await response.Content.ReadFromJsonAsync<JsonElement>();
                        served = true;
                    }
                    else await Task.Delay(500);
                }
                Assert.True(served, "serving never answered a prediction for the demo model");
                Assert.Equal(outcome.Version, prediction.GetProperty("version").GetInt32());
                Assert.True(double.IsFinite(prediction.GetProperty("prediction").GetDouble()));
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDir, true); } catch (IOException) { }
        }
    }
}
