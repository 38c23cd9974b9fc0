using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Platform.Gateway.Identity;
using Yarp.ReverseProxy.Configuration;

namespace Platform.Gateway.OpenApi;

/// <summary>
/// The gateway's own OpenAPI document (<c>/openapi/v1.json</c>): its endpoints plus every proxied route with the scope
/// it needs and both security schemes. Each service's full document is reachable through the gateway at
/// <c>/openapi/{app-id}/v1.json</c> (anonymous).
/// </summary>
public static class GatewayOpenApi
{
    public const string ApiKeyScheme = "ApiKey";
    public const string BearerScheme = "Bearer";

    public static IServiceCollection AddGatewayOpenApi(this IServiceCollection services)
    {
        services.Configure<OpenApiOptions>("v1", o => o.AddDocumentTransformer((document, context, ct) =>
        {
            var routes = context.ApplicationServices.GetRequiredService<IProxyConfigProvider>().GetConfig().Routes;
            Describe(document, routes);
            return Task.CompletedTask;
        }));
        return services;
    }

    internal static void Describe(OpenApiDocument document, IReadOnlyList<RouteConfig> routes)
    {
        document.Info ??= new OpenApiInfo();
        document.Info.Title = "Market-prediction platform API (gateway)";
        var services = routes.Where(r => r.RouteId.StartsWith("openapi-", StringComparison.Ordinal)).Select(r => r.Match.Path).ToList();
        document.Info.Description =
            $"Authenticate with an API key in {GatewaySchemes.ApiKeyHeader} or a bearer JWT; each route needs the scope it lists ('admin' grants all). " +
            $"Every answer carries X-Correlation-Id and, for authenticated callers, RateLimit-Limit/Remaining/Reset. " +
            "Requests that end unauthenticated (no or wrong credentials, anonymous routes) spend a budget per client address and per presented key id; " +
            $"once it is spent, every request from there is answered 429 with Retry-After before authentication. Service documents: {string.Join(", ", services)}.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey, In = ParameterLocation.Header, Name = GatewaySchemes.ApiKeyHeader,
            Description = "pk_... key from './platform keys create'.",
        };
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT",
            Description = "HS256 token with the configured issuer and audience; scopes in 'scope' or 'scp'.",
        };
        document.Paths ??= new OpenApiPaths();
        foreach (var route in routes.OrderBy(r => r.Match.Path, StringComparer.Ordinal))
        {
            var path = (route.Match.Path ?? "/").Replace("{**", "{", StringComparison.Ordinal);
            if (!document.Paths.TryGetValue(path, out var item) || item is not OpenApiPathItem pathItem)
            {
                pathItem = new OpenApiPathItem();
                document.Paths[path] = pathItem;
            }
            pathItem.Operations ??= new Dictionary<HttpMethod, OpenApiOperation>();
            var methods = route.Match.Methods is { Count: > 0 } m ? m : ["GET", "POST"];
            var anonymous = string.Equals(route.AuthorizationPolicy, "anonymous", StringComparison.OrdinalIgnoreCase);
            foreach (var method in methods.Where(x => x != "HEAD"))
            {
                var operation = new OpenApiOperation
                {
                    OperationId = $"{route.RouteId}-{method.ToLowerInvariant()}",
                    Summary = anonymous ? $"Forwarded to {route.ClusterId} (anonymous)." : $"Forwarded to {route.ClusterId}; needs scope '{route.AuthorizationPolicy}'.",
                    Tags = new HashSet<OpenApiTagReference> { new(route.ClusterId ?? "gateway", document) },
                    Responses = new OpenApiResponses
                    {
                        ["200"] = new OpenApiResponse { Description = "The service's answer." },
                        ["429"] = new OpenApiResponse
                        {
                            Description = anonymous
                                ? "The client address spent its budget for unauthenticated requests; see Retry-After (problem details)."
                                : "Rate limit exceeded (the caller's tier, or the client address or key id before authentication); see Retry-After (problem details).",
                        },
                    },
                };
                if (!anonymous)
                {
                    operation.Responses["401"] = new OpenApiResponse { Description = "No or invalid credentials (problem details)." };
                    operation.Responses["403"] = new OpenApiResponse { Description = $"The caller lacks '{route.AuthorizationPolicy}' (problem details)." };
                    operation.Responses["413"] = new OpenApiResponse { Description = "Request body over the limit (problem details)." };
                    operation.Security =
                    [
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, document)] = [route.AuthorizationPolicy!] },
                        new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [route.AuthorizationPolicy!] },
                    ];
                }
                pathItem.Operations[new HttpMethod(method)] = operation;
            }
        }
    }
}
