import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.ProxySelector;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A legacy tool written against the JDK, as its users would configure it.
 * Usage: java Client httpclient|urlconnection BASE_URL OPERATION [UPLOAD_FILE]
 * Proxy settings come from -Dhttp.proxyHost/-Dhttp.proxyPort, which both clients honour.
 * Prints one JSON object: the status and what came back.
 */
public class Client {
    static String base;

    public static void main(String[] args) throws Exception {
        String library = args[0];
        base = args[1];
        String operation = args[2];
        String[][] requests = {
            {"get", "GET", "/api/v1/users/me?q=a%20b&x=1"},
            {"post", "POST", "/api/v1/objects"},
            {"upload", "PUT", "/api/v1/upload"},
            {"download", "GET", "/api/v1/download?size=5000000"},
            {"error", "GET", "/api/v1/missing?status=404"},
        };
        HttpClient client = HttpClient.newBuilder().proxy(ProxySelector.getDefault())
            .connectTimeout(Duration.ofSeconds(30)).build();
        if (operation.equals("keepalive")) {
            StringBuilder statuses = new StringBuilder();
            for (String name : new String[] {"one", "two", "three"}) {
                int status = library.equals("httpclient") ? viaHttpClient(client, "GET", "/api/v1/" + name, null, null).status
                    : viaUrlConnection("GET", "/api/v1/" + name, null, null).status;
                statuses.append(statuses.length() == 0 ? "" : ",").append(status);
            }
            System.out.println("{\"statuses\":[" + statuses + "]}");
            return;
        }
        for (String[] request : requests) {
            if (!request[0].equals(operation)) continue;
            byte[] body = null;
            String type = null;
            if (operation.equals("post")) {
                body = "{\"name\":\"report.pdf\",\"size\":3}".getBytes("UTF-8");
                type = "application/json";
            } else if (operation.equals("upload")) {
                body = Files.readAllBytes(Path.of(args[3]));
                type = "application/octet-stream";
            }
            Answer answer = library.equals("httpclient") ? viaHttpClient(client, request[1], request[2], body, type)
                : viaUrlConnection(request[1], request[2], body, type);
            System.out.println(answer.json(request[2]));
        }
    }

    record Answer(int status, byte[] body) {
        String json(String path) {
            if (path.contains("download")) {
                boolean pattern = true;
                for (int i = 0; i < body.length; i++) if ((body[i] & 0xff) != i % 251) { pattern = false; break; }
                return "{\"status\":" + status + ",\"bytes\":" + body.length + ",\"pattern\":" + pattern + "}";
            }
            String text = new String(body, java.nio.charset.StandardCharsets.UTF_8);
            return "{\"status\":" + status + ",\"echo\":" + (text.startsWith("{") ? text : "null") + "}";
        }
    }

    static Answer viaHttpClient(HttpClient client, String method, String path, byte[] body, String type)
            throws Exception {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        if (type != null) builder.header("Content-Type", type);
        builder.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofByteArray(body));
        HttpResponse<byte[]> response = client.send(builder.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Answer(response.statusCode(), response.body());
    }

    static Answer viaUrlConnection(String method, String path, byte[] body, String type) throws Exception {
        HttpURLConnection connection = (HttpURLConnection) new URL(base + path).openConnection();
        connection.setRequestMethod(method);
        connection.setConnectTimeout(30000);
        connection.setReadTimeout(60000);
        if (type != null) connection.setRequestProperty("Content-Type", type);
        if (body != null) {
            connection.setDoOutput(true);
            connection.setFixedLengthStreamingMode(body.length);
            try (OutputStream out = connection.getOutputStream()) { out.write(body); }
        }
        int status = connection.getResponseCode();
        InputStream in = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (in != null) { in.transferTo(bytes); in.close(); }
        return new Answer(status, bytes.toByteArray());
    }
}
