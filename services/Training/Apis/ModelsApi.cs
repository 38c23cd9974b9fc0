using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Modeling.Registry;
using Platform.Training.Runs;

namespace Platform.Training.Apis;

public sealed record ModelSummary(string Name, int LatestVersion, int? Champion, int? Challenger, int Revision, DateTimeOffset UpdatedAt);

public sealed record ModelDetail(ModelSummary Model, ModelVersion? Champion, ModelVersion? Challenger, IReadOnlyList<int> ChampionHistory);

public sealed record VersionFile(string Name, string Href);

public sealed record VersionFiles(string Model, int Version, IReadOnlyList<VersionFile> Files);

/// <summary>The promotion body: the stage (Production by default) and an optional policy; without one the promotion is unconditional.</summary>
public sealed record PromoteRequest(ModelStage Stage = ModelStage.Production, PromotionPolicy? Policy = null);

/// <summary>
/// The registry API. Errors are problem details: unknown model or version 404, a concurrent change (ETag conflict) or
/// a refused promotion 409, an invalid transition 400.
/// </summary>
public static class ModelsApi
{
    public static RouteGroupBuilder MapModelsApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/models").WithTags("Models");
        group.MapGet("/", ListAsync).WithName("ListModels").WithSummary("Registered models with their champion and challenger.");
        group.MapGet("/{name}", GetAsync).WithName("GetModel").WithSummary("A model: its champion, challenger and champion history.");
        group.MapGet("/{name}/versions", VersionsAsync).WithName("ListModelVersions").WithSummary("Every version with stage, aliases and lineage.");
        group.MapGet("/{name}/compare", CompareAsync).WithName("CompareModelVersions").WithSummary("Metric deltas of version b over version a (numbers or aliases).");
        group.MapPost("/{name}/versions/{version:int}/promote", PromoteAsync).WithName("PromoteModelVersion").WithSummary("Move a version to Staging or Production (ETag-guarded).");
        group.MapGet("/{name}/versions/{version}/files", FilesAsync).WithName("ListModelVersionFiles")
            .WithSummary("The model card and plots stored with a version (number or alias), with links.");
        group.MapGet("/{name}/versions/{version}/files/{file}", FileAsync).WithName("GetModelVersionFile")
            .WithSummary("One stored file: card.md (Markdown) or a PNG plot.");
        group.MapPost("/{name}/rollback", RollbackAsync).WithName("RollbackModel").WithSummary("Restore the previous champion.");
        group.MapPost("/{name}/versions/{version:int}/archive", ArchiveAsync).WithName("ArchiveModelVersion").WithSummary("Archive a version that is not the champion.");
        return group;
    }

    internal static async Task<Results<Ok<VersionFiles>, ProblemHttpResult>> FilesAsync(string name, string version, ModelRegistry registry, CancellationToken ct)
    {
        try
        {
            var (v, files) = await registry.ListFilesAsync(name, version, ct);
            return TypedResults.Ok(new VersionFiles(name, v.Version,
                files.Select(f => new VersionFile(f, $"/v1/models/{name}/versions/{v.Version}/files/{f}")).ToList()));
        }
        catch (RegistryException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown model version.", detail: ex.Message);
        }
    }

    internal static async Task<Results<FileContentHttpResult, ProblemHttpResult>> FileAsync(string name, string version, string file,
        ModelRegistry registry, CancellationToken ct)
    {
        try
        {
            return await registry.GetFileAsync(name, version, file, ct) is { } f
                ? TypedResults.File(f.Content, f.MediaType)
                : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown file.", detail: $"{name} v{version} has no file '{file}'.");
        }
        catch (RegistryException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown model version.", detail: ex.Message);
        }
    }

    internal static async Task<Ok<IReadOnlyList<ModelSummary>>> ListAsync(ModelRegistry registry, CancellationToken ct)
    {
        var result = new List<ModelSummary>();
        foreach (var name in await registry.ListModelsAsync(ct))
            if (await registry.GetEntryAsync(name, ct) is { } e) result.Add(Summary(e));
        return TypedResults.Ok<IReadOnlyList<ModelSummary>>(result);
    }

    internal static Task<Results<Ok<ModelDetail>, ProblemHttpResult>> GetAsync(string name, ModelRegistry registry, CancellationToken ct) =>
        Guard(async () =>
        {
            var entry = await registry.GetEntryAsync(name, ct) ?? throw new ModelNotFoundException($"Model '{name}' is not registered.");
            ModelVersion? champion = entry.Champion is not null ? await registry.GetVersionAsync(name, ModelAliases.Champion, ct) : null;
            ModelVersion? challenger = entry.Challenger is not null ? await registry.GetVersionAsync(name, ModelAliases.Challenger, ct) : null;
            return new ModelDetail(Summary(entry), champion, challenger, entry.ChampionHistory);
        });

    internal static Task<Results<Ok<IReadOnlyList<ModelVersion>>, ProblemHttpResult>> VersionsAsync(string name, ModelRegistry registry, CancellationToken ct) =>
        Guard(() => registry.ListVersionsAsync(name, ct));

    internal static Task<Results<Ok<ModelComparison>, ProblemHttpResult>> CompareAsync(string name, string? a, string? b, ModelRegistry registry, CancellationToken ct) =>
        Guard(() => a is null || b is null
            ? throw new RegistryException("Give two versions to compare: ?a=1&b=2 (numbers or champion, challenger, latest).")
            : registry.CompareAsync(name, a, b, ct));

    internal static Task<Results<Ok<TransitionResult>, ProblemHttpResult>> PromoteAsync(string name, int version, PromoteRequest? request, ModelRegistry registry, CancellationToken ct)
    {
        if (request?.Policy is { } policy)
        {
            // Checked as a training request's policy is: a null or unknown metric is the caller's error, not the registry's.
            var errors = new Dictionary<string, string[]>();
            TrainingRequest.ValidatePolicy(policy, errors);
            if (errors.Count > 0)
                return Task.FromResult<Results<Ok<TransitionResult>, ProblemHttpResult>>(TypedResults.Problem(
                    new HttpValidationProblemDetails(errors) { Status = StatusCodes.Status400BadRequest, Title = "The promotion policy is invalid." }));
        }
        return Guard(() => registry.PromoteAsync(name, version, request?.Stage ?? ModelStage.Production, request?.Policy, ct));
    }

    internal static Task<Results<Ok<TransitionResult>, ProblemHttpResult>> RollbackAsync(string name, ModelRegistry registry, CancellationToken ct) =>
        Guard(() => registry.RollbackAsync(name, ct));

    internal static Task<Results<Ok<TransitionResult>, ProblemHttpResult>> ArchiveAsync(string name, int version, ModelRegistry registry, CancellationToken ct) =>
        Guard(() => registry.ArchiveAsync(name, version, ct));

    private static ModelSummary Summary(ModelEntry e) => new(e.Name, e.LatestVersion, e.Champion, e.Challenger, e.Revision, e.UpdatedAt);

    /// <summary>Maps the registry's refusals to problem details; anything else is a 500 with a trace id.</summary>
    private static async Task<Results<Ok<T>, ProblemHttpResult>> Guard<T>(Func<Task<T>> action)
    {
        try
        {
            return TypedResults.Ok(await action());
        }
        catch (RegistryException ex)
        {
            var (status, title) = ex switch
            {
                ModelNotFoundException => (StatusCodes.Status404NotFound, "Not found."),
                RegistryConflictException => (StatusCodes.Status409Conflict, "Concurrent change."),
                PromotionRejectedException => (StatusCodes.Status409Conflict, "Promotion refused by the policy."),
                ArtifactIntegrityException => (StatusCodes.Status500InternalServerError, "Artifact verification failed."),
                _ => (StatusCodes.Status400BadRequest, "Invalid registry request."),
            };
            return TypedResults.Problem(statusCode: status, title: title, detail: ex.Message);
        }
    }
}
