using System.Diagnostics;

namespace Platform.Gateway.Pipeline;

/// <summary>
/// <c>X-Correlation-Id</c>: kept when the caller sends a sane one (up to 128 characters of letters, digits and
/// <c>-_.:</c>), generated otherwise; forwarded to the service and echoed on the response.
/// </summary>
public static class CorrelationId
{
    public const string Header = "X-Correlation-Id";
    private const int MaxLength = 128;

    /// <summary>
    /// The request's id, kept as a feature (the server reuses its feature storage from request to request) that also echoes
    /// it when the response starts, so an answer that cleared its headers on the way (an error) still carries it.
    /// </summary>
    private sealed class Feature(HttpResponse response, string id)
    {
        public string Id => id;

        /// <summary>The <c>OnStarting</c> callback, one for every request (its state is the feature).</summary>
        public static readonly Func<object, Task> EchoAsync = static state => ((Feature)state).Echo();

        private Task Echo()
        {
            response.Headers[Header] = id;
            return Task.CompletedTask;
        }
    }

    /// <summary>The id of <paramref name="context"/>'s request, once <see cref="UseCorrelationId"/> has run.</summary>
    public static string? Of(HttpContext context) => context.Features.Get<Feature>()?.Id;

    public static IApplicationBuilder UseCorrelationId(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        var incoming = context.Request.Headers[Header];
        var id = incoming.Count == 1 && IsValid(incoming[0]) ? incoming[0]! : NewId();
        context.Request.Headers[Header] = id;
        var feature = new Feature(context.Response, id);
        context.Features.Set(feature);
        context.Response.OnStarting(Feature.EchoAsync, feature);
        // On the span only when a listener (a trace exporter's) started it and wants its data. Without one, ASP.NET Core
        // starts the request's activity itself, from no source, for propagation and log scopes; a tag on it (a list node
        // and a list per request) would be read by nobody.
        if (Activity.Current is { IsAllDataRequested: true } activity && activity.Source.HasListeners()) activity.SetTag("correlation.id", id);
        return next(context);
    });

    private static string NewId() => Activity.Current?.TraceId.ToHexString() is { } trace && trace != "00000000000000000000000000000000"
        ? trace
        : Guid.NewGuid().ToString("N");

    private static bool IsValid(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > MaxLength) return false;
        foreach (var c in value)
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':')) return false;
        return true;
    }
}
