import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URL;

/**
 * A legacy tool that follows redirects the JDK's way (HttpURLConnection does by default).
 * Usage: java Follow URL. Prints the final status and the URL it ended at.
 */
public class Follow {
    public static void main(String[] args) throws Exception {
        HttpURLConnection connection = (HttpURLConnection) new URL(args[0]).openConnection();
        int status = connection.getResponseCode();
        InputStream body = status < 400 ? connection.getInputStream() : connection.getErrorStream();
        if (body != null) body.readAllBytes();
        System.out.println(status + " " + connection.getURL());
    }
}
