using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Gateway.Identity;

namespace Platform.Gateway.Apis;

public sealed record CreateKeyRequest(string? Name, string? Tier, IReadOnlyList<string>? Scopes, string? Owner);

/// <summary><c>/v1/keys</c>: API key administration on the gateway itself (scope <c>admin</c>). A revocation here is seen by this replica at once.</summary>
public static class KeysApi
{
    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/keys").RequireAuthorization(Scopes.Admin).WithTags("keys");
        group.MapGet("/", ListAsync).WithName("ListApiKeys").WithSummary("API keys (without their secrets).");
        group.MapPost("/", CreateAsync).WithName("CreateApiKey").WithSummary("Creates a key; the token is in this answer only.");
        group.MapDelete("/{id}", RevokeAsync).WithName("RevokeApiKey").WithSummary("Revokes a key.");
        return app;
    }

    private static async Task<Ok<IReadOnlyList<ApiKeyInfo>>> ListAsync(ApiKeyService keys, CancellationToken ct) =>
        TypedResults.Ok(await keys.ListAsync(ct));

    private static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateAsync(CreateKeyRequest request, ApiKeyService keys, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["A key needs a name."] });
        var unknown = (request.Scopes ?? []).Where(s => !Scopes.IsKnown(s)).ToArray();
        if (unknown.Length > 0)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["scopes"] = [$"Unknown scope(s): {string.Join(", ", unknown)}. Known: {string.Join(", ", Scopes.All)}."] });
        if (request.Tier is not null && string.IsNullOrWhiteSpace(request.Tier))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["tier"] = [$"The tier must not be blank; leave 'tier' out for the default tier. Known: {keys.KnownTiers}."],
            });
        if (!keys.IsKnownTier(request.Tier))
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["tier"] = [$"Unknown tier '{request.Tier}'. Known: {keys.KnownTiers}."] });
        var created = await keys.CreateAsync(request.Name, request.Tier, request.Scopes, request.Owner, ct);
        return TypedResults.Created($"/v1/keys/{created.Key.Id}", created);
    }

    private static async Task<Results<Ok<ApiKeyInfo>, NotFound>> RevokeAsync(string id, ApiKeyService keys, CancellationToken ct) =>
        await keys.RevokeAsync(id, ct) is { } revoked ? TypedResults.Ok(revoked) : TypedResults.NotFound();
}
