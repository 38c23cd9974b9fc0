using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Dashboard.Pages;

/// <summary>The registry: versions with stages and aliases, metrics per fold and on the untouched final period, lineage,
/// model card and plots; promote and roll back (with <c>models:write</c>) after a confirmation step.</summary>
public sealed class ModelsModel(GatewayApi api) : DashboardPage(api)
{
    [BindProperty(SupportsGet = true)] public string? Model { get; set; }
    /// <summary>A version whose details (folds, lineage, files) are open.</summary>
    [BindProperty(SupportsGet = true)] public int? Version { get; set; }
    /// <summary><c>promote</c> or <c>rollback</c>: the action awaiting confirmation.</summary>
    [BindProperty(SupportsGet = true)] public string? Confirm { get; set; }
    [BindProperty(SupportsGet = true)] public string? Done { get; set; }

    public List<JsonElement> Models { get; } = [];
    public JsonElement? Detail { get; private set; }
    public List<JsonElement> Versions { get; } = [];
    public List<(string Name, string Href)> Files { get; } = [];
    public string? ActionProblem { get; private set; }
    public bool CanWrite => Session.Has(Scopes.ModelsWrite);

    public JsonElement? Selected => Versions.Cast<JsonElement?>().FirstOrDefault(v => (int?)v!.Value.Num("version") == Version);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    public async Task<IActionResult> OnPostPromoteAsync([FromForm] string model, [FromForm] int version, CancellationToken ct)
    {
        if (!CanWrite) return MissingScope(Scopes.ModelsWrite);
        var answer = await Api.PostAsync(Session, $"/v1/models/{Uri.EscapeDataString(model)}/versions/{version}/promote", new { stage = "Production" }, ct);
        return await AfterAsync(answer, model, $"v{version} of {model} is now the champion.", ct);
    }

    public async Task<IActionResult> OnPostRollbackAsync([FromForm] string model, CancellationToken ct)
    {
        if (!CanWrite) return MissingScope(Scopes.ModelsWrite);
        var answer = await Api.PostAsync(Session, $"/v1/models/{Uri.EscapeDataString(model)}/rollback", null, ct);
        return await AfterAsync(answer, model, $"{model} rolled back to its previous champion.", ct);
    }

    private async Task<IActionResult> AfterAsync(ApiAnswer answer, string model, string done, CancellationToken ct)
    {
        if (answer.Ok) return RedirectToPage(new { model, done });
        Model = model;
        ActionProblem = answer.Problem;
        Response.StatusCode = answer.Status is >= 400 and < 600 ? answer.Status : StatusCodes.Status502BadGateway;
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        if (!Session.Has(Scopes.ModelsRead))
        {
            Errors.Add($"Your key lacks '{Scopes.ModelsRead}': the registry is not visible.");
            return;
        }
        if (await GetOrNoteAsync("/v1/models", ct) is { } models) Models.AddRange(models.Items());
        Model ??= Models.FirstOrDefault().Str("name");
        if (Model is null) return;
        var name = Uri.EscapeDataString(Model);
        Detail = await GetOrNoteAsync($"/v1/models/{name}", ct);
        if (await GetOrNoteAsync($"/v1/models/{name}/versions", ct) is { } versions)
            Versions.AddRange(versions.Items().OrderByDescending(v => v.Num("version")));
        Version ??= (int?)Detail?.Prop("model").Num("champion") ?? (int?)Versions.FirstOrDefault().Num("version");
        if (Version is { } v && (await Api.GetAsync(Session, $"/v1/models/{name}/versions/{v}/files", ct)) is { Ok: true } files)
            foreach (var f in files.Body.Items("files"))
                Files.Add((f.Str("name")!, $"/dashboard/models/{name}/versions/{v}/files/{Uri.EscapeDataString(f.Str("name")!)}"));
    }

    public int? Champion => (int?)Detail?.Prop("model").Num("champion");
    public int HistoryCount => Detail?.Items("championHistory").Count() ?? 0;

    public static readonly string[] MetricNames = ["count", "ic", "rankIc", "rmse", "mae", "rSquared", "hitRate", "qlike"];
}
