{
  # The uvs addon: TUN/TAP devices and AF_PACKET (TPACKET_V3) sockets for the live director.
  # Linux only. Built by `node-gyp rebuild --directory=native` (the package's install script).
  "targets": [
    {
      "target_name": "uvs_native",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/netns.cc",
        "src/poller.cc",
        "src/tx_regions.cc",
        "src/packet_open.cc",
        "src/packet_socket.cc",
        "src/tun_open.cc",
        "src/tun_device.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "ldflags": ["-pthread"]
    }
  ]
}
