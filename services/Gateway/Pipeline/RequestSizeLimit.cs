using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Yarp.ReverseProxy.Model;

namespace Platform.Gateway.Pipeline;

/// <summary>
/// Request body limit: <c>Gateway:MaxRequestBodyBytes</c> (default 1 MiB), or a route's <c>MaxRequestBodyBytes</c>
/// metadata in gateway.routes.json. A declared length over it is refused at once with 413 problem details; a chunked
/// body is cut off by Kestrel when it passes the limit.
/// </summary>
public static class RequestSizeLimit
{
    public const string MetadataKey = "MaxRequestBodyBytes";
    public const long DefaultBytes = 1024 * 1024;

    public static IApplicationBuilder UseRequestSizeLimit(this IApplicationBuilder app, long defaultLimit) => app.Use((context, next) =>
    {
        var limit = defaultLimit;
        if (context.GetEndpoint()?.Metadata.GetMetadata<RouteModel>()?.Config.Metadata is { } metadata
            && metadata.TryGetValue(MetadataKey, out var text)
            && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var routeLimit))
            limit = routeLimit;
        if (context.Request.ContentLength is long length && length > limit)
            return GatewayProblems.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Payload Too Large",
                $"The request body is {length} bytes; this route accepts at most {limit}.");
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature) feature.MaxRequestBodySize = limit;
        return next(context);
    });
}
