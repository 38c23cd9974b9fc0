using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Dashboard.Pages;

/// <summary>Live quality of a model (windows against the baselines, and over time), drift detections as a heat map of
/// their evidence, and the retraining runs drift started.</summary>
public sealed class MonitoringModel(GatewayApi api) : DashboardPage(api)
{
    /// <summary>Joined predictions in each point of the quality-over-time chart.</summary>
    public const int RollingWindow = 20;
    private const int MaxRetrainingRuns = 20;

    [BindProperty(SupportsGet = true)] public string? Model { get; set; }

    public List<string> ModelNames { get; } = [];
    public JsonElement? Quality { get; private set; }
    public List<JsonElement> Drift { get; } = [];
    public List<JsonElement> Retraining { get; } = [];
    public string? ChartJson { get; private set; }
    public int Joined { get; private set; }

    public async Task OnGetAsync(CancellationToken ct)
    {
        if (!Session.Has(Scopes.ModelsRead))
        {
            Errors.Add($"Your key lacks '{Scopes.ModelsRead}': monitoring is not visible.");
            return;
        }
        if (await GetOrNoteAsync("/v1/models", ct) is { } models) ModelNames.AddRange(models.Items().Select(m => m.Str("name")!));
        Model = ModelNames.Contains(Model ?? "") ? Model : ModelNames.FirstOrDefault();
        if (Model is null) return;
        var name = Uri.EscapeDataString(Model);
        var quality = await Api.GetAsync(Session, $"/v1/monitoring/models/{name}/quality", ct);
        if (quality.Ok) Quality = quality.Body;
        else if (quality.Status != StatusCodes.Status404NotFound) Errors.Add($"quality: {quality.Problem}");
        if (await GetOrNoteAsync($"/v1/monitoring/models/{name}/drift?limit=20", ct) is { } drift) Drift.AddRange(drift.Items("detections"));
        for (var n = 1; n <= MaxRetrainingRuns; n++)
        {
            var run = await Api.GetAsync(Session, $"/v1/training-runs/retrain-{name}-{n}", ct);
            if (!run.Ok) break;
            Retraining.Add(run.Body);
        }

        if (await GetOrNoteAsync($"/v1/monitoring/models/{name}/predictions?joined=true&limit=1000", ct) is { } page)
        {
            var rows = page.Items("items").Select(p => (Time: p.Time("time")!.Value.ToUnixTimeSeconds(), P: p.Num("prediction"), R: p.Num("realised")))
                .Where(r => r.P is not null && r.R is not null).OrderBy(r => r.Time).ToList();
            Joined = rows.Count;
            var hits = new List<object[]>();
            var errors = new List<object[]>();
            for (var i = RollingWindow - 1; i < rows.Count; i++)
            {
                var window = rows.Skip(i - RollingWindow + 1).Take(RollingWindow).ToList();
                hits.Add([rows[i].Time, Math.Round(window.Count(r => Math.Sign(r.P!.Value) == Math.Sign(r.R!.Value)) / (double)RollingWindow, 4)]);
                errors.Add([rows[i].Time, Math.Round(window.Average(r => Math.Abs(r.P!.Value - r.R!.Value)), 6)]);
            }
            ChartJson = JsonView.ForPage(new { hitRate = Dedupe(hits), meanAbsError = Dedupe(errors) });
        }
    }

    /// <summary>One point per time (several symbols share a bar time): the last.</summary>
    private static List<object[]> Dedupe(List<object[]> points) =>
        points.GroupBy(p => (long)p[0]).Select(g => g.Last()).ToList();

    /// <summary>The heat map: one row per evidence subject (a feature, or the model's error), one column per detection.</summary>
    public (List<string> Subjects, List<JsonElement> Columns) HeatMap()
    {
        var columns = Drift.OrderBy(d => d.Time("windowEnd")).ToList();
        var subjects = columns.SelectMany(d => d.Items("evidence").Select(e => $"{e.Str("subject")} ({e.Str("statistic")})")).Distinct().Order().ToList();
        return (subjects, columns);
    }

    /// <summary>The API names a window's metric as in the registry (<c>rank_ic</c>) and serialises it in camel case (<c>rankIc</c>).</summary>
    public static string CamelCase(string snake) =>
        string.Concat(snake.Split('_').Select((part, i) => i == 0 || part.Length == 0 ? part : char.ToUpperInvariant(part[0]) + part[1..]));

    public static JsonElement? Cell(JsonElement detection, string subject) =>
        detection.Items("evidence").Cast<JsonElement?>().FirstOrDefault(e => $"{e!.Value.Str("subject")} ({e.Value.Str("statistic")})" == subject);
}
