using Platform.Gateway.Identity;

namespace Platform.Gateway.Pipeline;

/// <summary>
/// <c>X-Principal</c>, the only identity services see: removed from every incoming request, then set for an authenticated
/// caller as <c>{kind}:{id}; scopes={scope} {scope}...</c>, e.g. <c>api-key:3f9a0c1d2e4b5a69; scopes=market:read predictions:write</c>.
/// </summary>
public static class PrincipalHeader
{
    public const string Header = "X-Principal";

    /// <summary>Strip early, before anything could read a forged value.</summary>
    public static IApplicationBuilder UseStripPrincipal(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Request.Headers.Remove(Header);
        return next(context);
    });

    /// <summary>Sets the header for an authenticated caller; the API key itself is not forwarded (services never need it).</summary>
    public static IApplicationBuilder UseForwardPrincipal(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        Forward(context.Request, GatewayCaller.Of(context.User));
        return next(context);
    });

    internal static void Forward(HttpRequest request, GatewayCaller? caller)
    {
        request.Headers.Remove(GatewaySchemes.ApiKeyHeader);
        if (caller is not null) request.Headers[Header] = caller.PrincipalHeader;
    }
}
