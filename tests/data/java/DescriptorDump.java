// Writes the protobuf descriptors compiled into Hadoop's jars: for each outer class named on
// the command line (e.g. org.apache.hadoop.hdfs.protocol.proto.HdfsProtos), its .proto file
// and every file it imports, as one FileDescriptorSet on stdout (or, with --text first, the
// same files in protobuf text format, to read). Hadoop 3.3 shades protobuf
// (org.apache.hadoop.thirdparty.protobuf), so everything goes through reflection: this class
// compiles with no jar on the classpath and works with either protobuf.
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class DescriptorDump {
  public static void main(String[] args) throws Exception {
    boolean text = args.length > 0 && args[0].equals("--text");
    Map<String, Object> files = new LinkedHashMap<>();
    for (int i = text ? 1 : 0; i < args.length; i++) {
      Object file = Class.forName(args[i]).getMethod("getDescriptor").invoke(null);
      collect(file, files);
    }
    OutputStream out = System.out;
    ByteArrayOutputStream set = new ByteArrayOutputStream();
    for (Object file : files.values()) {
      Object proto = call(file, "toProto");
      if (text) {
        out.write(("# " + call(file, "getName") + "\n" + proto + "\n").getBytes("UTF-8"));
      } else {
        byte[] bytes = (byte[]) call(proto, "toByteArray");
        // FileDescriptorSet.file = 1, length-delimited.
        set.write(0x0a);
        varint(set, bytes.length);
        set.write(bytes);
      }
    }
    set.writeTo(out);
    out.flush();
  }

  // The file, after the files it imports.
  private static void collect(Object file, Map<String, Object> files) throws Exception {
    String name = (String) call(file, "getName");
    if (files.containsKey(name)) {
      return;
    }
    for (Object dependency : (List<?>) call(file, "getDependencies")) {
      collect(dependency, files);
    }
    files.put(name, file);
  }

  private static Object call(Object target, String method) throws Exception {
    Method m = target.getClass().getMethod(method);
    return m.invoke(target);
  }

  private static void varint(OutputStream out, int value) throws IOException {
    while ((value & ~0x7f) != 0) {
      out.write((value & 0x7f) | 0x80);
      value >>>= 7;
    }
    out.write(value);
  }
}
